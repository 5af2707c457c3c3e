"""Webhook bodies that arrive together are stored together: group commit for the webhook.

Each POST used to store its body in a transaction of its own, and a COMMIT waits for its WAL
flush: under a burst, the acknowledgements spent most of their time in BEGIN, COMMIT and the
flush. Here a writer stores whatever arrived while the transactions before were being written,
up to `max_bodies`, in one transaction and their messages in one INSERT (that INSERT alone,
its own transaction, when they hold only messages: bot.store.store_webhooks), and answers each
POST once that transaction has committed: nothing is acknowledged before it is stored. A new
writer starts (up to `writers`) only when every one is inside a transaction, so a body never
waits behind one that waits for a lock. At a quiet time a body is stored alone, as soon as it
comes.

Two writers, not more: more mostly split the bodies into smaller transactions (more commits
for the same acknowledgements; a burst of 300 was acknowledged at 2,000/s with four, 2,500/s
with two), and the second is enough that a body never waits behind a lock.

The inbox of the same process waits for a lull (`lull`) before each message it handles: Meta
redelivers a webhook it has no answer to in time, while a message already stored can wait a
few milliseconds more for its handling. A lull is the queue staying idle for `quiet` seconds
(2 ms), not merely being idle: during a burst the queue is idle for an instant between one
writer's commit and the next POST, and it is at that instant that the commit's NOTIFY wakes
the inbox. Taken then, a burst of 2,000 messages had 58-174 of them handled in its middle (the
day bench's "handled during it"), each several ms of CPU that the webhook waited for; with the
2 ms, 9-140 over seven runs. The price is those 2 ms, and more when webhooks keep coming: at
53 messages a second offered, with the `sent` statuses of their replies, handling waited often
enough that p50 rose from about 20 to 55 ms (docs/benchmarks.md).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

import asyncpg

from bot.store import Body, Stored, store_webhooks
from bot.whatsapp import Inbound, Quarantined, StatusUpdate


class StoreQueue:
    def __init__(self, pool: asyncpg.Pool, *, max_bodies: int = 64, writers: int = 2) -> None:
        self._pool = pool
        self._max_bodies = max_bodies
        self._max_writers = writers
        self._waiting: list[tuple[Body, asyncio.Future[Stored]]] = []
        self._writers: set[asyncio.Task[None]] = set()
        self._ready = 0  # writers about to take what is waiting (not inside a transaction)
        self._idle = asyncio.Event()  # nothing waiting and no writer: set, as at the start
        self._idle.set()
        self._idle_since = float("-inf")  # the loop's time when the queue last became idle

    async def store(self, messages: Sequence[Inbound], statuses: Sequence[StatusUpdate],
                    quarantined: Sequence[Quarantined] = ()) -> Stored:
        """Store one body; returns once the transaction holding it has committed. Raises what
        the database raised (the POST then fails and Meta sends the body again)."""
        future: asyncio.Future[Stored] = asyncio.get_running_loop().create_future()
        self._waiting.append(((messages, statuses, quarantined), future))
        self._idle.clear()
        # Another writer only when every one is inside a transaction: a body waits for at most
        # one transaction, not behind one that waits for a lock.
        if not self._ready and len(self._writers) < self._max_writers:
            self._ready += 1
            writer = asyncio.create_task(self._write())
            self._writers.add(writer)
            writer.add_done_callback(self._writer_done)
        return await future

    async def lull(self, at_most: float = 0.5, quiet: float = 0.002) -> None:
        """Return once no body has been waiting or stored for `quiet` seconds, or after
        `at_most` seconds, so a burst of webhooks goes first but the work that waits for its
        end is never starved."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + at_most
        while (left := deadline - loop.time()) > 0:
            if not self._idle.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._idle.wait(), left)
                continue
            unsettled = self._idle_since + quiet - loop.time()
            if unsettled <= 0:
                return
            await asyncio.sleep(min(unsettled, left))  # then look again: a body may have come

    def _writer_done(self, writer: asyncio.Task[None]) -> None:
        self._writers.discard(writer)
        if not self._writers and not self._waiting:
            self._idle.set()
            self._idle_since = asyncio.get_running_loop().time()

    async def _write(self) -> None:
        batch: list[tuple[Body, asyncio.Future[Stored]]] = []
        try:
            while self._waiting:
                batch = self._waiting[:self._max_bodies]
                del self._waiting[:len(batch)]
                self._ready -= 1
                try:
                    async with self._pool.acquire() as conn:
                        results = await store_webhooks(conn, [body for body, _ in batch])
                except Exception as exc:  # noqa: BLE001 - each POST waiting is told, not lost
                    _fail(batch, exc)
                else:
                    for (_, future), result in zip(batch, results, strict=True):
                        if not future.done():  # a POST given up on is just not answered
                            future.set_result(result)
                finally:
                    self._ready += 1
                batch = []
        except BaseException:  # cancelled (shutdown): nobody waits for an answer that won't come
            _fail(batch + self._waiting, ConnectionError("the webhook's writer stopped"))
            self._waiting.clear()
            raise
        finally:
            self._ready -= 1


def _fail(batch: list[tuple[Body, asyncio.Future[Stored]]], exc: BaseException) -> None:
    for _, future in batch:
        if not future.done():
            future.set_exception(exc)
