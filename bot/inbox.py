"""Handles stored inbound messages after the webhook acknowledged them, fairly across senders.

Each user's messages are handled one at a time and in order, even with several app processes on
one database: a transaction-scoped advisory lock per sender ('inbox:') is held while one of
their messages is handled. The oldest unhandled message is read under a second key ('inbound:'),
which store_webhook holds shared while it stores that sender's messages, so one stored earlier
but committed later is not overtaken. That key is held only for the read, not the handling: a
webhook with the sender's next message is acknowledged at once, not after the handling of their
last one. Messages stored before a crash are still unhandled on restart, so they are simply
picked up.

Fairness: each pass takes one message from each waiting sender, the least recently served first,
so someone who sends one message is handled within about one pass however many messages others
queued. Flooding: a sender's message is throttled when they sent `max_per_window` others in the
`window_seconds` before it (by WhatsApp's send time). A throttled message is kept, marked
handled as 'throttled', and not given to the dialogs; the sender is told once per flood (a flood
ends after two windows without a throttled message).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta

import asyncpg

from bot import metrics
from bot.logs import message_context
from bot.store import INBOUND_CHANNEL
from bot.wakeup import drain_on_notify

log = logging.getLogger(__name__)

Process = Callable[[asyncpg.Connection, asyncpg.Record], Awaitable[None]]
GiveWay = Callable[[], Awaitable[None]]

_BATCH = 100  # senders handled per pass; a new sender waits for at most one pass
_SCAN = 10_000  # distinct waiting senders looked at per pass; a bound, not a tuning knob

# Distinct senders with unhandled messages (a skip scan of the unhandled index: one probe per
# sender, not per message), the least recently served first; new senders before everyone.
_WAITING_SENDERS = """
WITH RECURSIVE waiting (sender, n) AS (
    (SELECT sender, 1 FROM inbound_messages WHERE handled_at IS NULL ORDER BY sender LIMIT 1)
  UNION ALL
    SELECT (SELECT m.sender FROM inbound_messages m
             WHERE m.handled_at IS NULL AND m.sender > w.sender ORDER BY m.sender LIMIT 1),
           w.n + 1
      FROM waiting w WHERE w.sender IS NOT NULL AND w.n < $2
)
SELECT w.sender FROM waiting w LEFT JOIN inbound_senders s ON s.sender = w.sender
 WHERE w.sender IS NOT NULL
 ORDER BY s.last_served_at NULLS FIRST, w.sender
 LIMIT $1
"""

# The sender's turn: NULL when another worker is handling their messages; false when a webhook
# is storing one of theirs right now (its commit wakes the inbox again); true when this worker
# handles them (until commit) and holds their 'inbound:' key, which no store holds, until _NEXT.
# CASE, unlike AND, takes the second lock only if the first was got.
_TAKE = """
SELECT CASE WHEN pg_try_advisory_xact_lock(hashtextextended('inbox:' || $1, 0))
            THEN pg_try_advisory_lock(hashtextextended('inbound:' || $1, 0)) END
"""

# The sender's oldest unhandled message (id NULL when none), and how many messages they sent in
# the window before it (counting to the cap at most), letting go of the 'inbound:' key: one
# round trip. The statement's snapshot is taken before it runs, while no store is in flight, so
# a store that starts once the key is let go is of a later message.
_NEXT = """
SELECT n.* FROM (SELECT pg_advisory_unlock(hashtextextended('inbound:' || $1, 0))) AS let_go
LEFT JOIN LATERAL (
    SELECT m.*, (SELECT count(*) FROM (
                     SELECT 1 FROM inbound_messages r
                      WHERE r.sender = m.sender AND r.sent_at > m.sent_at - $2::interval
                        AND (r.sent_at, r.id) < (m.sent_at, m.id)
                      LIMIT $3) AS recent) AS recent
      FROM inbound_messages m
     WHERE m.sender = $1 AND m.handled_at IS NULL
     ORDER BY m.id LIMIT 1) AS n ON true
"""

# _TAKE and _NEXT in one call (migration 033): (taken, the message's columns, recent).
_TAKE_NEXT = "SELECT t.taken, (t.message).*, t.recent FROM inbox_take($1, $2, $3) AS t"
_HAS_TAKE_NEXT = "SELECT to_regprocedure('inbox_take(text, interval, integer)') IS NOT NULL"
_ASK_AGAIN_SECONDS = 5.0

# Handled: the message is marked and its sender served, in one statement.
_HANDLED = """
WITH handled AS (
    UPDATE inbound_messages SET handled_at = now(), attempts = attempts + 1 WHERE id = $1)
INSERT INTO inbound_senders (sender, last_served_at) VALUES ($2, clock_timestamp())
ON CONFLICT (sender) DO UPDATE SET last_served_at = clock_timestamp()
"""

_SERVED = """
INSERT INTO inbound_senders (sender, last_served_at) VALUES ($1, clock_timestamp())
ON CONFLICT (sender) DO UPDATE SET last_served_at = clock_timestamp()
"""


# A failed handling, recorded after its transaction was rolled back (no savepoint: two round
# trips fewer for every message that does not fail). The sender's lock went with the rollback,
# so the message may have been handled meanwhile: then it is left as it is.
_FAILED = """
WITH failed AS (
    UPDATE inbound_messages SET attempts = attempts + 1, last_error = $2
     WHERE id = $1 AND handled_at IS NULL)
INSERT INTO inbound_senders (sender, last_served_at) VALUES ($3, clock_timestamp())
ON CONFLICT (sender) DO UPDATE SET last_served_at = clock_timestamp()
"""


class _Failed(Exception):
    """The handling of `row` raised; `error` is what to record."""

    def __init__(self, row: asyncpg.Record, error: str) -> None:
        super().__init__(error)
        self.row = row
        self.error = error


async def _let_go(conn: asyncpg.Connection) -> None:
    """After an error between _TAKE and _NEXT: a session lock outlives the rolled back
    transaction, and would keep the sender's webhooks waiting. Let go, or drop the connection
    (its locks go with it)."""
    try:
        await conn.execute("SELECT pg_advisory_unlock_all()")
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
        conn.terminate()


class Inbox:
    def __init__(
        self,
        pool: asyncpg.Pool,
        process: Process,
        give_up: Process,
        *,
        throttled: Process | None = None,
        max_attempts: int,
        poll_seconds: float,
        max_per_window: int = 30,
        window_seconds: float = 60.0,
        concurrency: int = 8,
        stopping: asyncio.Event | None = None,
        give_way: GiveWay | None = None,
    ) -> None:
        self._pool = pool
        # Awaited before each message is handled: the webhook's store queue in a process that
        # serves both (bot.store_queue.StoreQueue.lull), so acknowledgements go first.
        self._give_way = give_way
        # Set on shutdown: the messages in hand are finished, no new one is taken.
        self._stopping = stopping or asyncio.Event()
        self._process = process
        self._give_up = give_up
        self._throttled = throttled
        self._max_attempts = max_attempts
        self._poll = poll_seconds
        self._max_per_window = max_per_window
        self._window = timedelta(seconds=window_seconds)
        self._concurrency = concurrency
        # Migration 033 seen applied. Until then (a deploy migrates while the build before
        # serves: tests/channel/test_migrate_live.py) the two statements it replaces are used,
        # and whether it is there is asked again every few seconds, not at every message;
        # remove all this with the release after the one that ships 033.
        self._take_next = False
        self._take_next_asked = -float("inf")

    async def run(self) -> None:
        """Handle messages until cancelled, or stopping (then return with none in hand)."""
        await drain_on_notify(self._pool, INBOUND_CHANNEL, self.drain, self._poll,
                              self._stopping)

    async def drain(self) -> None:
        """Handle until nothing is waiting (a message that keeps failing waits for a poll)."""
        while await self.drain_once() and not self._stopping.is_set():
            pass

    async def drain_once(self) -> int:
        """One pass over the senders with waiting messages; returns how many were handled."""
        async with self._pool.acquire() as conn:
            senders = [r["sender"] for r in await conn.fetch(_WAITING_SENDERS, _BATCH, _SCAN)]
        if not senders:
            return 0
        queue: asyncio.Queue[str] = asyncio.Queue()
        for sender in senders:
            queue.put_nowait(sender)
        handled = 0

        async def work() -> None:
            nonlocal handled
            while not self._stopping.is_set():
                if self._give_way is not None:
                    await self._give_way()
                try:  # taken after giving way: another worker may have taken the last one
                    sender = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                handled += await self.handle_next(sender)

        await asyncio.gather(*(work() for _ in range(min(self._concurrency, len(senders)))))
        return handled

    async def handle_next(self, sender: str) -> int:
        """Handle the oldest unhandled message of `sender`, unless another worker holds them
        or one of theirs is being stored."""
        async with self._pool.acquire() as conn:
            holding = True  # the 'inbound:' key (a session lock) may be held until _take ends
            try:
                async with conn.transaction():
                    row = await self._take(conn, sender)
                    holding = False
                    if row is None:
                        return 0
                    with message_context(row["wamid"]):
                        if row["recent"] >= self._max_per_window:
                            return await self._throttle(conn, row)
                        return await self._handle(conn, row)
            except _Failed as failed:  # everything the handling wrote is rolled back
                with message_context(failed.row["wamid"]):
                    await conn.execute(_FAILED, failed.row["id"], failed.error, sender)
                metrics.INBOUND_HANDLED.labels(outcome="error").inc()
                return 0
            finally:
                if holding:
                    await _let_go(conn)

    async def _take(self, conn: asyncpg.Connection, sender: str) -> asyncpg.Record | None:
        """The sender's oldest unhandled message, with its flood count, theirs to handle until
        the transaction ends; None when another worker has them, one of theirs is being stored,
        or none is waiting. One round trip (migration 033)."""
        if not self._take_next and time.monotonic() - self._take_next_asked > _ASK_AGAIN_SECONDS:
            self._take_next_asked = time.monotonic()
            self._take_next = bool(await conn.fetchval(_HAS_TAKE_NEXT))
        if self._take_next:
            row = await conn.fetchrow(_TAKE_NEXT, sender, self._window, self._max_per_window)
            return row if row["taken"] and row["id"] is not None else None
        if not await conn.fetchval(_TAKE, sender):
            return None
        # Read after taking the lock (a statement of its own, so its snapshot is taken after
        # the lock): a message handled meanwhile is not seen again.
        row = await conn.fetchrow(_NEXT, sender, self._window, self._max_per_window)
        return row if row is not None and row["id"] is not None else None

    async def _throttle(self, conn: asyncpg.Connection, row: asyncpg.Record) -> int:
        """Keep the message, marked, without handling it; tell the sender once per flood."""
        previous = await conn.fetchval(
            "SELECT last_throttled_at FROM inbound_senders WHERE sender = $1", row["sender"])
        await conn.execute(
            """INSERT INTO inbound_senders AS s (sender, last_served_at, last_throttled_at,
                                                 throttled)
               VALUES ($1, clock_timestamp(), $2, 1)
               ON CONFLICT (sender) DO UPDATE SET
                   last_served_at = clock_timestamp(), throttled = s.throttled + 1,
                   last_throttled_at = greatest(s.last_throttled_at, EXCLUDED.last_throttled_at)
            """, row["sender"], row["sent_at"])
        await conn.execute(
            """UPDATE inbound_messages SET handled_at = now(), handled_as = 'throttled'
               WHERE id = $1""", row["id"])
        metrics.INBOUND_HANDLED.labels(outcome="throttled").inc()
        new_flood = previous is None or row["sent_at"] - previous > 2 * self._window
        if new_flood:
            log.warning("sender floods: more than %d messages in %ss; skipping until it stops",
                        self._max_per_window, self._window.total_seconds())
            if self._throttled is not None:
                try:
                    async with conn.transaction():  # a savepoint: the notice is not worth a retry
                        await self._throttled(conn, row)
                except Exception:  # noqa: BLE001 - the message stays kept and marked
                    log.exception("could not queue the throttled notice")
        return 1

    async def _handle(self, conn: asyncpg.Connection, row: asyncpg.Record) -> int:
        started = time.perf_counter()
        if row["attempts"] >= self._max_attempts:
            log.error("giving up after %d attempts: %s", row["attempts"], row["last_error"])
            try:
                async with conn.transaction():  # a savepoint: telling the user may fail as well
                    await self._give_up(conn, row)
            except Exception:  # noqa: BLE001 - else one message would stop every sender's
                log.exception("could not tell the user either")
            await conn.execute(
                """UPDATE inbound_messages SET handled_at = now(), handled_as = 'given_up'
                   WHERE id = $1""", row["id"])
            await conn.execute(_SERVED, row["sender"])
            metrics.INBOUND_HANDLED.labels(outcome="given_up").inc()
            return 1
        try:
            await self._process(conn, row)
            await conn.execute(_HANDLED, row["id"], row["sender"])
        except Exception as exc:  # any failure is recorded (handle_next) and retried, bounded
            log.exception("handling failed (attempt %d)", row["attempts"] + 1)
            raise _Failed(row, f"{type(exc).__name__}: {exc}"[:1000]) from exc
        metrics.HANDLING_SECONDS.observe(time.perf_counter() - started)
        metrics.INBOUND_HANDLED.labels(outcome="ok").inc()
        log.info("handled %s message", row["kind"])
        return 1
