"""Builds the aiohttp application: webhook, operations endpoints, and the background workers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta

import aiohttp
import asyncpg
from aiohttp import web

from bot import metrics, pages, report_pages, security, simulator, verify_pages, webhook
from bot.appkeys import (
    HANDLER,
    HTTP,
    MESSAGES,
    OUTBOUND,
    POOL,
    READ_POOL,
    SETTINGS,
    SHUTDOWN,
    STORE_QUEUE,
)
from bot.graph import GraphClient
from bot.handler import Handler
from bot.inbox import Inbox
from bot.outbound import Outbound
from bot.sender import LocalTransport, Sender, Transport
from bot.settings import Settings
from bot.shutdown import Shutdown
from bot.store_queue import StoreQueue
from dialogs import alerts, jobs
from dialogs.io import Policy
from ledger import check, db, limit_suggestions, migrate, reminders
from locales.render import Messages
from web import mount as mount_web

log = logging.getLogger(__name__)


def create_app(settings: Settings, *, workers: bool = True, role: str = "all") -> web.Application:
    """Everything the server needs, built from settings; `workers=False` (or role "web") serves
    HTTP only; role "workers" runs the inbox, sender and jobs with only the health endpoints."""
    workers = workers and role != "web"
    app = web.Application(client_max_size=webhook.MAX_BODY_BYTES, middlewares=[metrics.measure])
    app.on_response_prepare.append(security.add_headers)
    app[SETTINGS] = settings
    app[MESSAGES] = Messages()
    app[OUTBOUND] = Outbound(settings, app[MESSAGES])
    app[HANDLER] = Handler(app[OUTBOUND], policy(settings))
    app[SHUTDOWN] = Shutdown(settings.shutdown_timeout_seconds)
    app.on_shutdown.append(_begin_shutdown)  # right after the listener closes, on SIGTERM
    app.cleanup_ctx.append(_database)
    app.cleanup_ctx.append(_http_client)
    app.cleanup_ctx.append(_metrics_refresh)
    if workers:
        app.cleanup_ctx.append(_workers)
        app.cleanup_ctx.append(_jobs)
        app.cleanup_ctx.append(_ledger_check)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_view)
    if role == "workers":
        return app
    app.router.add_get("/webhook", webhook.verify)
    app.router.add_post("/webhook", webhook.receive)
    pages.routes(app)
    report_pages.routes(app)
    verify_pages.routes(app)
    mount_web(app)  # sign-in, /app and the REST API (web/)
    if settings.simulator_served:
        simulator.routes(app)
    return app


async def _database(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    url = db.database_url(settings.database_url, settings.khaacho_data_dir)
    app[POOL] = await db.create_pool(url)
    app[STORE_QUEUE] = StoreQueue(app[POOL])
    # Pages and endpoints that only read, and may be seconds behind, use READ_POOL (web.reads).
    app[READ_POOL] = (await db.create_read_pool(settings.read_database_url)
                      if settings.read_database_url else app[POOL])
    if app[READ_POOL] is not app[POOL]:
        try:
            async with app[READ_POOL].acquire() as conn:
                await conn.fetchval("SELECT 1")
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            # Said once at start; the dashboards try again on every request.
            log.warning("READ_DATABASE_URL does not answer (%s): the dashboards and analytics "
                        "fail until it does", type(exc).__name__)
    metrics.watch_pool(app[POOL])
    yield
    metrics.watch_pool(None)
    if app[READ_POOL] is not app[POOL]:
        await app[READ_POOL].close()
    await app[POOL].close()


async def _http_client(app: web.Application) -> AsyncIterator[None]:
    app[HTTP] = aiohttp.ClientSession()
    yield
    await app[HTTP].close()


def transport_for(app: web.Application) -> Transport:
    settings = app[SETTINGS]
    if not settings.whatsapp_enabled:
        log.info("no WhatsApp credentials: replies go to the local channel")
        return LocalTransport()
    assert settings.whatsapp_access_token and settings.whatsapp_phone_number_id
    return GraphClient(
        app[HTTP], settings.whatsapp_api_base, settings.whatsapp_phone_number_id,
        settings.whatsapp_access_token.get_secret_value(),
        timeout_seconds=settings.outbox_send_timeout_seconds,
    )


def build_workers(app: web.Application) -> tuple[Inbox, Sender]:
    settings, pool, handler = app[SETTINGS], app[POOL], app[HANDLER]

    async def throttled(conn: asyncpg.Connection, row: asyncpg.Record) -> None:
        await handler.throttled(conn, row, settings.inbound_sender_window_seconds)

    stopping = app[SHUTDOWN].stopping
    inbox = Inbox(
        pool, handler.handle, handler.give_up, throttled=throttled, stopping=stopping,
        max_attempts=settings.inbound_max_attempts, poll_seconds=settings.worker_poll_seconds,
        max_per_window=settings.inbound_sender_max_per_window,
        window_seconds=settings.inbound_sender_window_seconds,
        give_way=app[STORE_QUEUE].lull,  # idle, so never waited for, where no webhook is served
    )
    sender = Sender(
        pool, transport_for(app), rate_per_second=settings.outbox_rate_per_second,
        max_attempts=settings.outbox_max_attempts, backoff_seconds=settings.outbox_backoff_seconds,
        poll_seconds=settings.worker_poll_seconds,
        send_timeout_seconds=settings.outbox_send_timeout_seconds,
        confirm_seconds=settings.outbox_confirm_seconds,
        concurrency=settings.outbox_concurrency, stopping=stopping,
    )
    return inbox, sender


async def _workers(app: web.Application) -> AsyncIterator[None]:
    inbox, sender = build_workers(app)
    tasks = [asyncio.create_task(supervise("inbox", inbox.run), name="inbox"),
             asyncio.create_task(supervise("sender", sender.run), name="sender")]
    yield
    # They finish the message in hand and return; what is still busy at the bound is cut off
    # (its transaction rolls back; a send cut off mid-call is in doubt, bot/sender.py).
    shutdown = app[SHUTDOWN]
    shutdown.begin()
    _, busy = await asyncio.wait(tasks, timeout=shutdown.remaining())
    for task in busy:
        log.warning("%s still busy after %.0fs: cut off", task.get_name(), shutdown.timeout)
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    log.info("workers stopped")


async def _begin_shutdown(app: web.Application) -> None:
    app[SHUTDOWN].begin()


async def supervise(
    name: str,
    run: Callable[[], Awaitable[None]],
    first_delay: float = 1.0,
    *,
    max_delay: float = 60.0,
    healthy_seconds: float = 30.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> None:
    """Keep a worker alive: a lost database connection must not stop handling for good.

    Restarts back off (doubling up to `max_delay`) while the worker keeps failing at once; after
    it has run for `healthy_seconds`, the next failure is a new incident and starts from
    `first_delay` again. A worker that returns has stopped on purpose (shutdown): so does this.
    """
    delay = first_delay
    while True:
        started = clock()
        try:
            await run()
            return
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - logged, then the worker starts again
            if clock() - started >= healthy_seconds:
                delay = first_delay
            log.exception("%s worker stopped; restarting in %.1fs", name, delay)
            await sleep(delay)
            delay = min(delay * 2, max_delay)


async def _metrics_refresh(app: web.Application) -> AsyncIterator[None]:
    """Database gauges are read here every few seconds, so a scrape costs no query."""

    async def run() -> None:
        while True:
            async with app[POOL].acquire() as conn:
                await metrics.refresh(conn)
            await asyncio.sleep(app[SETTINGS].metrics_refresh_seconds)

    task = asyncio.create_task(supervise("metrics", run), name="metrics-refresh")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def policy(settings: Settings) -> Policy:
    return Policy(starter_limit_paisa=settings.starter_credit_limit_npr * 100,
                  payment_dispute_window=timedelta(days=settings.payment_dispute_days),
                  public_base_url=settings.public_base_url.rstrip("/"),
                  bank_report_days=settings.bank_report_days)


def reminder_rules(settings: Settings) -> reminders.Rules:
    """When and how reminders and digests go (README: Reminders)."""
    quiet_from, quiet_until = settings.reminder_quiet_hours
    return reminders.Rules(
        ladder=settings.reminder_days, repeat_days=settings.reminder_repeat_days,
        quiet_from=quiet_from, quiet_until=quiet_until,
        pause_days=settings.reminder_pause_dates, digest_at=settings.vendor_digest_at,
        claim_hold_days=settings.reminder_claim_hold_days,
        templates={
            "due_soon": reminders.TemplateSpec(settings.reminder_template_due_soon,
                                               settings.reminder_template_due_soon_params),
            "due_today": reminders.TemplateSpec(settings.reminder_template_due_today,
                                                settings.reminder_template_due_today_params),
            "overdue": reminders.TemplateSpec(settings.reminder_template_overdue,
                                              settings.reminder_template_overdue_params),
        })


def limit_rules(settings: Settings) -> limit_suggestions.Rules:
    """How limits are suggested (README: Suggested credit limits)."""
    return limit_suggestions.Rules(
        cap_paisa=settings.limit_suggestion_cap_npr * 100,
        step_paisa=settings.limit_suggestion_step_npr * 100,
        min_change_percent=settings.limit_suggestion_min_change_percent,
        review_at=settings.limit_suggestions_at)


def job_timing(settings: Settings) -> jobs.Timing:
    return jobs.Timing(draft_ttl=timedelta(minutes=settings.draft_expiry_minutes),
                       offer_timeout=timedelta(minutes=settings.vendor_response_minutes),
                       reminders=reminder_rules(settings) if settings.reminders_enabled
                       else None,
                       limits=limit_rules(settings) if settings.limit_suggestions_enabled
                       else None,
                       analytics_every=timedelta(seconds=settings.analytics_refresh_seconds)
                       if settings.analytics_refresh_seconds else None,
                       alerts=alert_rules(settings) if settings.operator_alerts_enabled
                       else None,
                       message_retention=timedelta(days=settings.message_retention_days)
                       if settings.message_retention_days else None)


def alert_rules(settings: Settings) -> alerts.Rules:
    """When operators are told that sending fails (README: Settings, docs/operations.md)."""
    return alerts.Rules(window=timedelta(seconds=settings.alert_sender_window_seconds),
                        min_failed=settings.alert_sender_min_failed,
                        oldest_unsent=timedelta(seconds=settings.alert_outbox_oldest_seconds))


async def run_jobs(
    pool: asyncpg.Pool, outbound: Outbound, timing: jobs.Timing, now: datetime
) -> None:
    """One round of every periodic job, each in its own transaction with the messages it owes:
    one failing job does not hold back the others."""
    for job in jobs.JOBS:
        try:
            async with pool.acquire() as conn, conn.transaction():
                replies = await job.run(conn, now, timing)
                await outbound.send(conn, replies)
        except Exception:  # noqa: BLE001 - logged; the next round tries again
            log.exception("job %r failed", job.name)
            continue
        if job.counted and replies:  # counted once committed: queued for the sender
            metrics.REMINDERS_SENT.labels(kind=job.counted).inc(len(replies))


async def _jobs(app: web.Application) -> AsyncIterator[None]:
    """Run the periodic jobs every DIALOG_JOBS_SECONDS."""
    settings = app[SETTINGS]

    async def run() -> None:
        while True:
            await asyncio.sleep(settings.dialog_jobs_seconds)
            await run_jobs(app[POOL], app[OUTBOUND], job_timing(settings), datetime.now(UTC))

    task = asyncio.create_task(supervise("jobs", run), name="jobs")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def check_ledger(app: web.Application, now: datetime | None = None) -> check.CheckResult:
    """One ledger check: /metrics and the staff page show its result, and operators are told
    once when it finds a break (and once when a later check finds none)."""
    started = now or datetime.now(UTC)  # what the check saw is as of when it began
    async with app[POOL].acquire() as conn:
        result = await check.run(conn)
    metrics.ledger_checked(result.total)
    if not result.ok:
        log.error("ledger check: %s: %s", result.summary(), "; ".join(result.lines()[:10]))
    if app[SETTINGS].operator_alerts_enabled:
        async with app[POOL].acquire() as conn, conn.transaction():
            await app[OUTBOUND].send(conn, await alerts.ledger_checked(
                conn, result.total, result.summary(), started))
    return result


async def _ledger_check(app: web.Application) -> AsyncIterator[None]:
    """Check the ledger at start and then every `ledger_check_seconds`; /metrics shows the last
    result, so a scrape never pays for a whole-ledger check."""
    settings = app[SETTINGS]

    async def run() -> None:
        while True:
            await check_ledger(app)
            await asyncio.sleep(settings.ledger_check_seconds)

    task = asyncio.create_task(supervise("ledger check", run), name="ledger-check")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def healthz(request: web.Request) -> web.Response:
    """The process is up."""
    return web.json_response({"ok": True})


async def readyz(request: web.Request) -> web.Response:
    """The database answers and every migration is applied."""
    try:
        async with request.app[POOL].acquire() as conn:
            missing = [m.name for m in await migrate.pending(conn)]
    except Exception as exc:  # noqa: BLE001 - whatever the database did, we are not ready
        return web.json_response({"ok": False, "error": f"database: {type(exc).__name__}"},
                                 status=503)
    if missing:
        return web.json_response({"ok": False, "pending_migrations": missing}, status=503)
    return web.json_response({"ok": True})


async def metrics_view(request: web.Request) -> web.Response:
    """Behind METRICS_TOKEN, or to this machine only; served from memory."""
    refused = security.metrics_refusal(request)
    if refused is not None:
        return refused
    return web.Response(body=metrics.render(), headers={"Content-Type": metrics.CONTENT_TYPE})
