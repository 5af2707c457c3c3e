"""Webhook bodies that arrive together are stored together: group commit for the webhook.

Each POST used to store its body in a transaction of its own, and a COMMIT waits for its WAL
flush: under a burst, the acknowledgements spent most of their time in BEGIN, COMMIT and the
flush. Here a single writer stores whatever arrived while its previous transaction was being
written, up to `max_bodies`, in one transaction (bot.store.store_webhooks), and answers each
POST once that transaction has committed: nothing is acknowledged before it is stored. At a
quiet time a body is stored alone, as soon as it comes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import asyncpg

from bot.store import Body, Stored, store_webhooks
from bot.whatsapp import Inbound, Quarantined, StatusUpdate


class StoreQueue:
    def __init__(self, pool: asyncpg.Pool, *, max_bodies: int = 64) -> None:
        self._pool = pool
        self._max_bodies = max_bodies
        self._waiting: list[tuple[Body, asyncio.Future[Stored]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def store(self, messages: Sequence[Inbound], statuses: Sequence[StatusUpdate],
                    quarantined: Sequence[Quarantined] = ()) -> Stored:
        """Store one body; returns once the transaction holding it has committed. Raises what
        the database raised (the POST then fails and Meta sends the body again)."""
        future: asyncio.Future[Stored] = asyncio.get_running_loop().create_future()
        self._waiting.append(((messages, statuses, quarantined), future))
        if self._writer is None:
            self._writer = asyncio.create_task(self._write())
        return await future

    async def _write(self) -> None:
        batch: list[tuple[Body, asyncio.Future[Stored]]] = []
        try:
            while self._waiting:
                batch = self._waiting[:self._max_bodies]
                del self._waiting[:len(batch)]
                try:
                    async with self._pool.acquire() as conn:
                        results = await store_webhooks(conn, [body for body, _ in batch])
                except Exception as exc:  # noqa: BLE001 - each POST waiting is told, not lost
                    _fail(batch, exc)
                else:
                    for (_, future), result in zip(batch, results, strict=True):
                        if not future.done():  # a POST given up on is just not answered
                            future.set_result(result)
                batch = []
        except BaseException:  # cancelled (shutdown): nobody waits for an answer that won't come
            _fail(batch + self._waiting, ConnectionError("the webhook's writer stopped"))
            self._waiting.clear()
            raise
        finally:
            self._writer = None


def _fail(batch: list[tuple[Body, asyncio.Future[Stored]]], exc: BaseException) -> None:
    for _, future in batch:
        if not future.done():
            future.set_exception(exc)
