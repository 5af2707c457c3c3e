"""Sends the outbox: bounded retries with backoff, a rate limit, and Graph API errors mapped.

Each message is claimed with FOR UPDATE SKIP LOCKED, sent, and marked in one short transaction,
so several processes can send at once; a message waits while an earlier one to the same
recipient is unsent, so a user reads replies in order.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, Protocol

import asyncpg

from bot import metrics
from bot.graph import GraphError, OutsideWindowError, ThrottledError
from bot.store import DELIVERED_CHANNEL, OUTBOX_CHANNEL, delivery_failed
from bot.wakeup import drain_on_notify
from locales.numbers import mask

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 15 * 60


class Transport(Protocol):
    async def send(self, recipient: str, payload: dict[str, Any]) -> str: ...

    async def upload(self, content: bytes, mime_type: str, filename: str) -> str: ...


class LocalTransport:
    """Without WhatsApp credentials a reply is 'delivered' by being marked sent; the terminal chat
    and the web simulator read sent rows from the outbox."""

    async def send(self, recipient: str, payload: dict[str, Any]) -> str:
        return f"local.{time.time_ns()}"

    async def upload(self, content: bytes, mime_type: str, filename: str) -> str:
        return f"local-media.{time.time_ns()}"


async def with_media(
    conn: asyncpg.Connection, transport: Transport, row: asyncpg.Record
) -> dict[str, Any]:
    """The payload to send: a document message gets the media id of its file, uploaded first
    (once: the id is kept for the message's retries, in the sender's transaction)."""
    payload: dict[str, Any] = row["payload"]
    if payload.get("type") != "document" or row["document_id"] is None:
        return payload
    document = await conn.fetchrow(
        "SELECT filename, mime_type, content, media_id FROM outbox_documents WHERE id = $1",
        row["document_id"])
    media_id = document["media_id"]
    if media_id is None:
        media_id = await transport.upload(bytes(document["content"]), document["mime_type"],
                                          document["filename"])
        await conn.execute(
            "UPDATE outbox_documents SET media_id = $2, uploaded_at = now() WHERE id = $1",
            row["document_id"], media_id)
    return {**payload, "document": {**payload["document"], "id": media_id}}


class RateLimiter:
    """A token bucket: at most `rate` sends a second, with a pause when the API throttles us."""

    def __init__(
        self,
        rate: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._interval = 1.0 / rate
        self._clock = clock
        self._sleep = sleep
        self._next = clock()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._lock:
            now = self._clock()
            wait = self._next - now
            self._next = max(now, self._next) + self._interval
        if wait > 0:
            await self._sleep(wait)

    def pause(self, seconds: float) -> None:
        self._next = max(self._next, self._clock() + seconds)


# The oldest due message whose recipient has nothing older pending (one index probe each).
_CLAIM = """
SELECT o.* FROM outbox o
WHERE o.status = 'pending' AND o.next_attempt_at <= now()
  AND o.id = (SELECT min(e.id) FROM outbox e WHERE e.recipient = o.recipient
                                              AND e.status = 'pending')
ORDER BY o.id
LIMIT 1
FOR UPDATE SKIP LOCKED
"""


class Sender:
    def __init__(
        self,
        pool: asyncpg.Pool,
        transport: Transport,
        *,
        rate_per_second: float,
        max_attempts: int,
        backoff_seconds: float,
        poll_seconds: float,
        concurrency: int = 4,
    ) -> None:
        self._pool = pool
        self._transport = transport
        self._limiter = RateLimiter(rate_per_second)
        self._max_attempts = max_attempts
        self._backoff = backoff_seconds
        self._poll = poll_seconds
        self._concurrency = concurrency

    async def run(self) -> None:
        """Send until cancelled."""
        await drain_on_notify(self._pool, OUTBOX_CHANNEL, self.drain, self._poll)

    async def drain(self) -> int:
        """Send until nothing is due; returns how many messages were attempted.

        In rounds of `concurrency` claims: a claim that finds nothing because its peers hold the
        due rows must not retire its worker while the queue is still long.
        """
        total = 0
        while True:
            claimed = sum(await asyncio.gather(*(self.send_one()
                                                 for _ in range(self._concurrency))))
            if not claimed:
                return total
            total += claimed

    async def send_one(self) -> bool:
        async with self._pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(_CLAIM)
            if row is None:
                return False
            await self._limiter.acquire()
            await self._attempt(conn, row)
            return True

    async def _attempt(self, conn: asyncpg.Connection, row: asyncpg.Record) -> None:
        payload = row["payload"]
        try:
            wamid = await self._transport.send(row["recipient"],
                                               await with_media(conn, self._transport, row))
        except OutsideWindowError as exc:
            if row["fallback"] and payload.get("type") != "template":
                log.info("outbox %s: outside the 24-hour window, sending as template", row["id"])
                await conn.execute(
                    "UPDATE outbox SET payload = fallback, last_error = $2 WHERE id = $1",
                    row["id"], str(exc))
                return
            await self._fail(conn, row, exc)
            return
        except ThrottledError as exc:
            delay = self._delay(row["attempts"])
            self._limiter.pause(delay)
            await self._retry(conn, row, exc, delay)
            return
        except GraphError as exc:
            if exc.retryable:
                await self._retry(conn, row, exc, self._delay(row["attempts"]))
            else:
                await self._fail(conn, row, exc)
            return
        await conn.execute(
            """UPDATE outbox SET status = 'sent', wamid = $2, sent_at = now(),
                   attempts = attempts + 1 WHERE id = $1""", row["id"], wamid)
        await conn.execute(f"NOTIFY {DELIVERED_CHANNEL}")
        metrics.OUTBOUND.labels(result="sent").inc()
        # A failure callback can outrun this update; it was stored, so apply it now.
        failure = await conn.fetchrow(
            """SELECT error_code, error_title FROM message_statuses
               WHERE wamid = $1 AND status = 'failed'""", wamid)
        if failure:
            await delivery_failed(conn, wamid, failure["error_code"], failure["error_title"])

    def _delay(self, attempts: int) -> float:
        return float(min(self._backoff * 2**attempts, MAX_BACKOFF_SECONDS))

    async def _retry(
        self, conn: asyncpg.Connection, row: asyncpg.Record, exc: GraphError, delay: float
    ) -> None:
        if row["attempts"] + 1 >= self._max_attempts:
            await self._fail(conn, row, exc)
            return
        log.warning("outbox %s to %s: %s; retry in %.1fs",
                    row["id"], mask(row["recipient"]), exc, delay)
        await conn.execute(
            """UPDATE outbox SET attempts = attempts + 1, last_error = $2,
                   next_attempt_at = now() + $3 WHERE id = $1""",
            row["id"], str(exc)[:1000], timedelta(seconds=delay))
        metrics.OUTBOUND.labels(result="retry").inc()

    async def _fail(self, conn: asyncpg.Connection, row: asyncpg.Record, exc: GraphError) -> None:
        """Failed for good: the row stays, marked, for operators to see; it is never dropped."""
        log.error("outbox %s to %s failed for good: %s", row["id"], mask(row["recipient"]), exc)
        await conn.execute(
            "UPDATE outbox SET status = 'failed', attempts = attempts + 1, last_error = $2 "
            "WHERE id = $1", row["id"], str(exc)[:1000])
        await conn.execute(f"NOTIFY {DELIVERED_CHANNEL}")
        metrics.OUTBOUND.labels(result="failed").inc()
