"""Runs a worker's drain step whenever PostgreSQL NOTIFYs its channel, and every so often anyway
(a notification can be missed while the listening connection is being replaced).

The listening connection dies with the server (a restart, a failover, a killed backend) while the
pool quietly reconnects everything else: nothing would fail, only every wake-up would wait for the
poll. So its loss is noticed (a termination callback; and, for a connection dropped without a
word, a cheap query every half minute when polls pass without a notification) and the channel is
listened to again on a fresh connection.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

import asyncpg

from bot import metrics

log = logging.getLogger(__name__)

_CHECK_EVERY_SECONDS = 30.0  # how often an idle listening connection is asked a question
_CHECK_SECONDS = 5.0  # how long that question may take
_RELISTEN_SECONDS = 1.0  # how soon to try listening again after failing to


class _Listener:
    """One pooled connection LISTENing to `channel`, replaced when it is lost."""

    def __init__(self, pool: asyncpg.Pool, channel: str, wake: asyncio.Event) -> None:
        self._pool = pool
        self._channel = channel
        self._wake = wake
        self._conn: asyncpg.Connection | None = None
        self._listened_before = False
        self._checked = time.monotonic()

    def _notified(self, *_: object) -> None:
        self._wake.set()

    def _terminated(self, *_: object) -> None:
        self._wake.set()  # go round at once: listen again, and drain what may have been missed

    @property
    def alive(self) -> bool:
        return self._conn is not None and not _closed(self._conn)

    async def ensure(self) -> None:
        """Listen on a live connection; if the database cannot be reached, try again later."""
        if self.alive:
            return
        await self.close()
        try:
            conn = await self._pool.acquire()
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
            log.warning("cannot listen on %s yet: %r", self._channel, exc)
            return
        self._conn = conn  # at once: if cancelled below, close() still gives it back
        try:
            await conn.add_listener(self._channel, self._notified)
            conn.add_termination_listener(self._terminated)
            # Named in pg_stat_activity, so operators (and tests) can see who listens.
            await conn.execute("SELECT set_config('application_name', $1, false)",
                               f"khaacho listens on {self._channel}")
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("cannot listen on %s yet: %r", self._channel, exc)
            await self.close()
            return
        if self._listened_before:
            log.info("listening on %s again", self._channel)
            metrics.LISTENER_RESTARTS.labels(channel=self._channel).inc()
        self._listened_before = True

    async def check(self) -> None:
        """A cheap round trip now and then: a connection dropped silently is found out."""
        if self._conn is None or _closed(self._conn):
            return
        now = time.monotonic()
        if now - self._checked < _CHECK_EVERY_SECONDS:
            return
        self._checked = now
        try:
            await asyncio.wait_for(self._conn.fetchval("SELECT 1"), _CHECK_SECONDS)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
            log.warning("listening connection on %s lost: %r", self._channel, exc)
            self._conn.terminate()

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        if _closed(conn):
            await self._pool.release(conn)  # the pool already replaced it; this just forgets it
            return
        conn.remove_termination_listener(self._terminated)
        try:
            # The pool does not reset what a session changed (ledger/db.py): end the LISTEN
            # and the name here, or close the connection if that fails.
            await conn.remove_listener(self._channel, self._notified)
            await conn.reset()
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            conn.terminate()
        finally:
            await self._pool.release(conn)


def _closed(conn: asyncpg.Connection) -> bool:
    """Whether the connection is gone; a pooled one the pool took back after its loss counts."""
    try:
        return bool(conn.is_closed())
    except asyncpg.InterfaceError:  # "released back to the pool"
        return True


async def drain_on_notify(
    pool: asyncpg.Pool, channel: str, drain: Callable[[], Awaitable[object]],
    poll_seconds: float, stopping: asyncio.Event | None = None,
) -> None:
    """Call `drain` until cancelled, or until `stopping` is set (then return once the drain in
    progress has returned): at once, then on each NOTIFY or after `poll_seconds`."""
    stopping = stopping or asyncio.Event()
    wake = asyncio.Event()
    listener = _Listener(pool, channel, wake)
    try:
        while not stopping.is_set():
            await listener.ensure()
            wake.clear()  # before draining: a NOTIFY during the drain triggers another round
            await drain()
            # Without a listener (the database was away), try again soon rather than a poll later.
            wait = poll_seconds if listener.alive else min(poll_seconds, _RELISTEN_SECONDS)
            if not await _either(wake, stopping, wait):
                await listener.check()
    finally:
        await listener.close()


async def _either(first: asyncio.Event, second: asyncio.Event, timeout: float) -> bool:
    """Wait until either event is set (True) or `timeout` passes (False)."""
    waits = [asyncio.ensure_future(first.wait()), asyncio.ensure_future(second.wait())]
    try:
        done, _ = await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiting in waits:
            waiting.cancel()
    return bool(done)
