"""The periodic jobs, in one registry: drafts left unconfirmed expire with a notice; vendors who
do not answer lose the offer to the next vendor, and everyone involved is told; retailers are
reminded of what is due (at most once a day) and vendors get their morning digest; once a day,
staff are offered suggested credit limits; old sign-in codes and API outcomes are forgotten; the
analytics' summary tables are brought up to date; operators are told once when WhatsApp sending
has been failing for a while; message rows past their retention are archived.

Every app process runs every job; each is safe to run at once in several processes (the rows it
works on are claimed with SKIP LOCKED and re-checked under their lock) and idempotent (a second
round finds nothing left to do). A job returns the replies it owes people; the runner queues
them through the outbound service in the job's own transaction.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from dialogs import alerts, limits, notify, reminders
from dialogs.alerts import Rules as AlertRules
from ledger import (
    analytics,
    assignment,
    auth,
    catalog_store,
    conversations,
    digests,
    idempotency,
    limit_suggestions,
    message_archive,
    orders,
    users,
)
from ledger import reminders as reminder_round
from ledger.errors import LedgerError
from locales.replies import Reply

log = logging.getLogger(__name__)

BATCH = 100
ARCHIVE_BATCH = 2000  # message rows of each table moved per round


@dataclass(frozen=True)
class Timing:
    draft_ttl: timedelta      # an unconfirmed draft is cancelled after this long
    offer_timeout: timedelta  # a vendor who does not answer loses the offer after this long
    reminders: reminder_round.Rules | None = None  # None: no reminders or digests
    limits: limit_suggestions.Rules | None = None  # None: no suggested credit limits
    analytics_every: timedelta | None = None  # None: analytics refreshed by the CLI only
    alerts: AlertRules | None = None  # None: operators are not told when sending fails
    message_retention: timedelta | None = None  # None: messages kept in the live tables


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[[asyncpg.Connection, datetime, Timing], Awaitable[list[Reply]]]
    counted: str | None = None  # the replies are counted on /metrics as reminders of this kind


async def expire_drafts(conn: asyncpg.Connection, now: datetime, timing: Timing) -> list[Reply]:
    """Retailers in the middle of an order for longer than the ttl: the draft is cancelled and
    they are told; drafts no conversation points at any more (the retailer was blocked, say)
    expire silently after twice as long."""
    replies = []
    for conversation in await conversations.stale(conn, "retailer", now - timing.draft_ttl,
                                                  BATCH):
        order_id = conversation.data.get("order_id")
        retailer = await users.by_id(conn, conversation.user_id)
        if isinstance(order_id, int) and retailer is not None:
            # Only a draft expires: an order confirmed meanwhile goes on; a vanished one is done.
            with contextlib.suppress(LedgerError):
                if (await orders.get(conn, order_id)).status == "DRAFT":
                    await orders.cancel(conn, order_id, retailer, "draft expired", now=now)
        conversation.reset("retailer", "idle")
        await conversations.save(conn, conversation)
        replies.append(Reply("draft_expired", to_user_id=conversation.user_id))
    await orders.expire_drafts(conn, now, 2 * timing.draft_ttl, limit=BATCH)
    if replies:
        log.info("expired %d unconfirmed drafts", len(replies))
    return replies


async def expire_offers(conn: asyncpg.Connection, now: datetime, timing: Timing) -> list[Reply]:
    """Offers nobody answered in time go to the next vendor (or to nobody, said so)."""
    outcomes = await assignment.expire_offers(conn, now, timing.offer_timeout, limit=BATCH)
    if not outcomes:
        return []
    parser = await catalog_store.parser(conn)
    replies = []
    for outcome in outcomes:
        replies.extend(await notify.outcome(conn, parser, outcome, tell_retailer=True))
    return replies


async def remind(conn: asyncpg.Connection, now: datetime, timing: Timing) -> list[Reply]:
    """Retailers with a bill at a new step of the ladder: one message each, listing what is due
    or overdue per vendor (skips are logged by the round)."""
    if timing.reminders is None:
        return []
    decisions = await reminder_round.run(conn, timing.reminders, now)
    sent = [reminders.reminder(d) for d in decisions if d.outcome == "send"]
    if sent:
        log.info("queued %d payment reminders", len(sent))
    return sent


async def digest(conn: asyncpg.Connection, now: datetime, timing: Timing) -> list[Reply]:
    """Vendors' morning digests, once a day each."""
    if timing.reminders is None:
        return []
    return [reminders.digest(d) for d in await digests.run(conn, timing.reminders, now)]


async def suggest_limits(conn: asyncpg.Connection, now: datetime, timing: Timing) -> list[Reply]:
    """Once a Nepal day, a batch of retailers' limits against their score and purchases: each
    new suggestion is offered to every operator and admin, with Approve / Dismiss."""
    if timing.limits is None:
        return []
    made = await limit_suggestions.review(conn, timing.limits, now)
    staff = await users.staff_ids(conn) if made else []
    if made:
        log.info("offered %d suggested credit limits to %d staff", len(made), len(staff))
    return [limits.offer(s, person) for s in made for person in staff]


async def forget_sign_ins(conn: asyncpg.Connection, now: datetime, timing: Timing) -> list[Reply]:
    """Old requests for sign-in codes and old API outcomes are forgotten (tables stay small)."""
    await auth.forget_old_codes(conn, now)
    await idempotency.forget_old(conn, now)
    return []


async def refresh_analytics(
    conn: asyncpg.Connection, now: datetime, timing: Timing
) -> list[Reply]:
    """The analytics' summary tables: the days whose orders moved, and today's snapshot, when
    the last refresh is `analytics_every` old (one process at a time; tells nobody)."""
    if timing.analytics_every is not None:
        done = await analytics.refresh(conn, now=now, every=timing.analytics_every,
                                       max_days=analytics.JOB_MAX_DAYS)
        if done.ran:
            log.info("analytics refreshed: %d days in %.2f s (%d days waiting)", len(done.days),
                     done.seconds, done.left)
    return []


async def watch_sending(conn: asyncpg.Connection, now: datetime, timing: Timing) -> list[Reply]:
    """Operators hear once when WhatsApp sending has been failing for a while, and once when it
    works again (dialogs/alerts.py)."""
    if timing.alerts is None:
        return []
    return await alerts.watch_sending(conn, timing.alerts, now)


async def archive_messages(conn: asyncpg.Connection, now: datetime, timing: Timing
                           ) -> list[Reply]:
    """One batch of message rows older than the retention moved to the archive (a backlog is
    worked off a batch a round, so no round holds locks for long); tells nobody."""
    if timing.message_retention is not None:
        moved = await message_archive.archive_round(conn, now - timing.message_retention,
                                                    batch=ARCHIVE_BATCH)
        if moved.total:
            log.info("archived %d outbound and %d inbound messages", moved.outbox,
                     moved.inbound)
    return []


JOBS: tuple[Job, ...] = (
    Job("expire unconfirmed drafts", expire_drafts),
    Job("pass on unanswered offers", expire_offers),
    Job("remind retailers of what is due", remind, counted="reminder"),
    Job("send vendors their morning digest", digest, counted="digest"),
    Job("suggest credit limits to staff", suggest_limits),
    Job("forget old sign-in codes and API outcomes", forget_sign_ins),
    Job("refresh the analytics", refresh_analytics),
    Job("tell operators when sending fails", watch_sending),
    Job("archive old messages", archive_messages),
)
