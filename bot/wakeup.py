"""Runs a worker's drain step whenever PostgreSQL NOTIFYs its channel, and every so often anyway
(a notification can be missed while the listening connection is being replaced)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import asyncpg


async def drain_on_notify(
    pool: asyncpg.Pool, channel: str, drain: Callable[[], Awaitable[object]], poll_seconds: float
) -> None:
    """Call `drain` until cancelled: at once, then on each NOTIFY or after `poll_seconds`."""
    wake = asyncio.Event()

    def notified(*_: object) -> None:
        wake.set()

    listener = await pool.acquire()
    try:
        await listener.add_listener(channel, notified)
        while True:
            wake.clear()  # before draining: a NOTIFY during the drain triggers another round
            await drain()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), poll_seconds)
    finally:
        with contextlib.suppress(Exception):
            await listener.remove_listener(channel, notified)
        await pool.release(listener)
