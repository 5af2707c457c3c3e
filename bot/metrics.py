"""Prometheus metrics of the server. Gauges read from the database (outbox and inbox depth and
ages, failed messages by reason, the webhook quarantine) are refreshed in the background every
few seconds through `ledger.health.read`, never per scrape; the database pool's gauges are read
from the pool object when scraped (no query). Every HTTP request is timed by `measure`, labelled
by its route's canonical path (`/app/users/{ref}`, never the URL asked for, so the label's values
are the routes there are), method and status class.

The oldest unsent age is also given per recipient backlog (`backlog` label), so a flood to a few
recipients cannot hide how long everyone else waits:
  one      recipients with exactly one pending message (typical: a user who just wrote);
  few      recipients with 2 to FLOODED_AT - 1 pending messages;
  flooded  recipients with FLOODED_AT or more pending messages.
A class with no pending message reports 0.

The ledger check is too big to run per scrape: the server runs it periodically and the gauges
hold its last result (problems NaN until the first check has finished).

`glance` gives the same figures to the staff "today" page (web/staff.py), so the page and
`/metrics` never disagree about what they count.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

from ledger import health
from ledger.health import BACKLOGS, FLOODED_AT

__all__ = ["BACKLOGS", "FLOODED_AT"]

INBOUND_RECEIVED = Counter(
    "khaacho_inbound_messages_total", "Inbound WhatsApp messages stored", ["kind"])
INBOUND_HANDLED = Counter(
    "khaacho_inbound_handled_total", "Inbound messages handled, by outcome", ["outcome"])
HANDLING_SECONDS = Histogram(
    "khaacho_handling_seconds", "Time to handle one inbound message",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
OUTBOUND = Counter(
    "khaacho_outbound_messages_total",
    "Outbound send outcomes: sent, retry, failed, ambiguous (no answer; waits for its status), "
    "confirmed (settled by a status webhook), resent (no status came), paused_recipient (131056)",
    ["result"])
OUTBOX_DEPTH = Gauge("khaacho_outbox_depth", "Messages waiting in the outbox")
OUTBOX_OLDEST = Gauge("khaacho_outbox_oldest_unsent_seconds", "Age of the oldest unsent message")
OUTBOX_OLDEST_BY_BACKLOG = Gauge(
    "khaacho_outbox_oldest_unsent_by_backlog_seconds",
    f"Age of the oldest unsent message, by the recipient's pending count: one, few (2 to "
    f"{FLOODED_AT - 1}), flooded ({FLOODED_AT} or more)", ["backlog"])
OUTBOX_IN_FLIGHT = Gauge(
    "khaacho_outbox_in_flight",
    "Messages being sent, or waiting for the status of an unanswered send")
OUTBOX_FAILED = Gauge("khaacho_outbox_failed", "Messages that failed for good (operators look)")
LEDGER_CHECK_PROBLEMS = Gauge(
    "khaacho_ledger_check_problems", "Breaks the last ledger check found (0: consistent)")
LEDGER_CHECK_PROBLEMS.set(float("nan"))
LEDGER_CHECK_LAST_RUN = Gauge(
    "khaacho_ledger_check_last_run_timestamp_seconds", "When the last ledger check finished")
WEBHOOK_QUARANTINED = Counter(
    "khaacho_webhook_quarantined_total", "Webhook items set aside unread, by kind", ["kind"])
QUARANTINE_ROWS = Gauge(
    "khaacho_webhook_quarantine", "Items kept in the webhook quarantine (operators look)")
LISTENER_RESTARTS = Counter(
    "khaacho_listener_restarts_total",
    "Times a worker listened to its NOTIFY channel again after losing the connection", ["channel"])

INBOX_DEPTH = Gauge("khaacho_inbox_depth", "Inbound messages stored and not handled yet")
INBOX_OLDEST = Gauge(
    "khaacho_inbox_oldest_unhandled_seconds", "Age of the oldest inbound message not handled yet")
OUTBOX_FAILED_BY_REASON = Gauge(
    "khaacho_outbox_failed_by_reason",
    "Messages that failed for good, by reason: WhatsApp's error code, no_answer, http_<status> "
    "or other", ["reason"])
REMINDERS_SENT = Counter(
    "khaacho_reminders_sent_total",
    "Payment reminders and vendors' digests queued to be sent, by kind", ["kind"])
HTTP_SECONDS = Histogram(
    "khaacho_http_request_duration_seconds",
    "Time to answer an HTTP request, by route (its canonical path), method and status class",
    ["route", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
HTTP_REQUESTS = Counter(
    "khaacho_http_requests_total", "HTTP requests answered, by route, method and status class "
    "(5xx: the server's errors)", ["route", "method", "status"])
POOL_SIZE = Gauge("khaacho_db_pool_size", "Connections the database pool holds open")
POOL_IN_USE = Gauge("khaacho_db_pool_in_use", "Pool connections in use (acquired)")
POOL_IDLE = Gauge("khaacho_db_pool_idle", "Pool connections open and free")
POOL_MAX = Gauge("khaacho_db_pool_max", "The most connections the pool may open")

CONTENT_TYPE = CONTENT_TYPE_LATEST
UNMATCHED = "unmatched"  # a request no route answers (a 404 or 405 before any handler)
# The staff page's error rate covers this many of the last minutes.
RECENT_MINUTES = 5


@dataclass(frozen=True)
class LedgerCheck:
    at: datetime
    problems: int


_last_check: LedgerCheck | None = None
_last_backlog: health.Backlog | None = None


def ledger_checked(problems: int) -> None:
    """Record a finished ledger check."""
    global _last_check
    LEDGER_CHECK_PROBLEMS.set(problems)
    LEDGER_CHECK_LAST_RUN.set(time.time())
    _last_check = LedgerCheck(datetime.now(UTC), problems)


async def refresh(conn: asyncpg.Connection) -> health.Backlog:
    """Read the database gauges (every METRICS_REFRESH_SECONDS, from the app's background task)."""
    global _last_backlog
    backlog = await health.read(conn)
    OUTBOX_DEPTH.set(backlog.outbox_depth)
    OUTBOX_IN_FLIGHT.set(backlog.outbox_in_flight)
    OUTBOX_FAILED.set(backlog.failed)
    OUTBOX_OLDEST.set(backlog.outbox_oldest_seconds)
    for name, seconds in backlog.outbox_oldest_by_backlog.items():
        OUTBOX_OLDEST_BY_BACKLOG.labels(backlog=name).set(seconds)
    OUTBOX_FAILED_BY_REASON.clear()  # a reason no longer among the kept few is not left stale
    for reason, count in backlog.failed_by_reason.items():
        OUTBOX_FAILED_BY_REASON.labels(reason=reason).set(count)
    INBOX_DEPTH.set(backlog.inbox_depth)
    INBOX_OLDEST.set(backlog.inbox_oldest_seconds)
    QUARANTINE_ROWS.set(backlog.quarantined)
    _last_backlog = backlog
    return backlog


def render() -> bytes:
    """What a scrape gets: the last refreshed values; no database work per request."""
    return generate_latest()


# The pool whose gauges a scrape reads: the app's, set when its pool is made (one per process).
_pool: asyncpg.Pool | None = None


def _pool_figure(read: Callable[[asyncpg.Pool], int]) -> Callable[[], float]:
    def figure() -> float:
        pool = _pool
        return float(read(pool)) if pool is not None and not pool.is_closing() else 0.0
    return figure


pool_in_use = _pool_figure(lambda p: p.get_size() - p.get_idle_size())
pool_max = _pool_figure(lambda p: p.get_max_size())
POOL_SIZE.set_function(_pool_figure(lambda p: p.get_size()))
POOL_IDLE.set_function(_pool_figure(lambda p: p.get_idle_size()))
POOL_IN_USE.set_function(pool_in_use)
POOL_MAX.set_function(pool_max)


def watch_pool(pool: asyncpg.Pool | None) -> None:
    """Report this pool's connections on /metrics (None: none, the app has closed it)."""
    global _pool
    _pool = pool


class RecentRequests:
    """Requests and 5xx answers per minute over the last few minutes, for the staff page's error
    rate (Prometheus computes its own from `khaacho_http_requests_total`)."""

    def __init__(self, minutes: int = RECENT_MINUTES,
                 clock: Callable[[], float] = time.time) -> None:
        self._minutes = minutes
        self._clock = clock
        self._buckets: deque[list[int]] = deque()  # [minute, requests, errors]

    def count(self, error: bool) -> None:
        minute = int(self._clock() // 60)
        if not self._buckets or self._buckets[-1][0] != minute:
            self._buckets.append([minute, 0, 0])
            while self._buckets[0][0] <= minute - self._minutes:
                self._buckets.popleft()
        self._buckets[-1][1] += 1
        self._buckets[-1][2] += int(error)

    def totals(self) -> tuple[int, int]:
        """(requests, errors) in the last `minutes` minutes."""
        since = int(self._clock() // 60) - self._minutes
        kept = [b for b in self._buckets if b[0] > since]
        return sum(b[1] for b in kept), sum(b[2] for b in kept)


RECENT = RecentRequests()


def status_class(status: int) -> str:
    return f"{status // 100}xx" if 100 <= status < 600 else "5xx"


def observe(request: web.Request, status: int, seconds: float) -> None:
    resource = request.match_info.route.resource
    route = resource.canonical if resource is not None else UNMATCHED
    labels = {"route": route, "method": request.method, "status": status_class(status)}
    HTTP_SECONDS.labels(**labels).observe(seconds)
    HTTP_REQUESTS.labels(**labels).inc()
    RECENT.count(error=status >= 500)


@web.middleware
async def measure(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Time every request, whatever it ends in: an answer, an HTTP exception (its status), an
    error (500), or the client leaving first (499, as nginx counts it)."""
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    except asyncio.CancelledError:
        status = 499
        raise
    finally:
        observe(request, status, time.perf_counter() - started)


@dataclass(frozen=True)
class Glance:
    """The figures the staff page shows, as /metrics has them."""

    backlog: health.Backlog
    pool_in_use: int
    pool_max: int
    requests: int        # in the last RECENT_MINUTES minutes, in this process
    errors: int          # of which the server answered 5xx
    ledger_check: LedgerCheck | None  # None: not run in this process yet

    @property
    def error_percent(self) -> float:
        return 100.0 * self.errors / self.requests if self.requests else 0.0

    @property
    def pool_percent(self) -> float:
        return 100.0 * self.pool_in_use / self.pool_max if self.pool_max else 0.0


async def glance(conn: asyncpg.Connection, stale_seconds: float) -> Glance:
    """The last refreshed figures; read afresh (and the gauges with them) when none is younger
    than `stale_seconds` (the server just started, or the refresh is stuck)."""
    backlog = _last_backlog
    if backlog is None or (datetime.now(UTC) - backlog.read_at).total_seconds() > stale_seconds:
        backlog = await refresh(conn)
    requests, errors = RECENT.totals()
    return Glance(backlog=backlog, pool_in_use=int(pool_in_use()), pool_max=int(pool_max()),
                  requests=requests, errors=errors, ledger_check=_last_check)
