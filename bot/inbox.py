"""Handles stored inbound messages after the webhook acknowledged them.

Each user's messages are handled one at a time and in order, even with several app processes on
one database: a transaction-scoped advisory lock per sender guards the oldest unhandled message.
Messages stored before a crash are still unhandled on restart, so they are simply picked up.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

import asyncpg

from bot import metrics
from bot.logs import message_context
from bot.store import INBOUND_CHANNEL
from bot.wakeup import drain_on_notify

log = logging.getLogger(__name__)

Process = Callable[[asyncpg.Connection, asyncpg.Record], Awaitable[None]]

_BATCH = 50  # senders looked at per pass; a bound, not a tuning knob


class Inbox:
    def __init__(
        self,
        pool: asyncpg.Pool,
        process: Process,
        give_up: Process,
        *,
        max_attempts: int,
        poll_seconds: float,
        concurrency: int = 8,
    ) -> None:
        self._pool = pool
        self._process = process
        self._give_up = give_up
        self._max_attempts = max_attempts
        self._poll = poll_seconds
        self._concurrency = concurrency

    async def run(self) -> None:
        """Handle messages until cancelled."""
        await drain_on_notify(self._pool, INBOUND_CHANNEL, self.drain, self._poll)

    async def drain(self) -> None:
        """Handle until nothing is waiting (a message that keeps failing waits for a poll)."""
        while await self.drain_once():
            pass

    async def drain_once(self) -> int:
        """One pass over the senders with waiting messages; returns how many were handled."""
        async with self._pool.acquire() as conn:
            senders = [r["sender"] for r in await conn.fetch(
                """SELECT sender FROM inbound_messages WHERE handled_at IS NULL
                   GROUP BY sender ORDER BY min(id) LIMIT $1""", _BATCH)]
        if not senders:
            return 0
        queue: asyncio.Queue[str] = asyncio.Queue()
        for sender in senders:
            queue.put_nowait(sender)
        handled = 0

        async def work() -> None:
            nonlocal handled
            while not queue.empty():
                handled += await self.handle_next(queue.get_nowait())

        await asyncio.gather(*(work() for _ in range(min(self._concurrency, len(senders)))))
        return handled

    async def handle_next(self, sender: str) -> int:
        """Handle the oldest unhandled message of `sender`, unless another worker holds them."""
        async with self._pool.acquire() as conn, conn.transaction():
            locked = await conn.fetchval(
                "SELECT pg_try_advisory_xact_lock(hashtextextended('inbound:' || $1, 0))",
                sender,
            )
            if not locked:
                return 0
            # Read after taking the lock: a message handled meanwhile is not seen again.
            row = await conn.fetchrow(
                """SELECT * FROM inbound_messages WHERE sender = $1 AND handled_at IS NULL
                       ORDER BY id LIMIT 1""", sender)
            if row is None:
                return 0
            with message_context(row["wamid"]):
                return await self._handle(conn, row)

    async def _handle(self, conn: asyncpg.Connection, row: asyncpg.Record) -> int:
        started = time.perf_counter()
        if row["attempts"] >= self._max_attempts:
            log.error("giving up after %d attempts: %s", row["attempts"], row["last_error"])
            await self._give_up(conn, row)
            await conn.execute(
                "UPDATE inbound_messages SET handled_at = now() WHERE id = $1", row["id"])
            metrics.INBOUND_HANDLED.labels(outcome="given_up").inc()
            return 1
        try:
            async with conn.transaction():  # a savepoint: a failure undoes only this message
                await self._process(conn, row)
                await conn.execute(
                    "UPDATE inbound_messages SET handled_at = now(), attempts = attempts + 1 "
                    "WHERE id = $1", row["id"])
        except Exception as exc:  # noqa: BLE001 - any failure is recorded and retried, bounded
            log.exception("handling failed (attempt %d)", row["attempts"] + 1)
            await conn.execute(
                "UPDATE inbound_messages SET attempts = attempts + 1, last_error = $2 "
                "WHERE id = $1",
                row["id"], f"{type(exc).__name__}: {exc}"[:1000])
            metrics.INBOUND_HANDLED.labels(outcome="error").inc()
            return 0
        metrics.HANDLING_SECONDS.observe(time.perf_counter() - started)
        metrics.INBOUND_HANDLED.labels(outcome="ok").inc()
        log.info("handled %s message", row["kind"])
        return 1
