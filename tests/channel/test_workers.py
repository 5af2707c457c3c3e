"""The background workers recover: a lost LISTEN connection is replaced (wake-ups stay instant),
and a worker's restart back-off starts afresh after it has run healthily."""

from __future__ import annotations

import asyncio
import contextlib

from bot import metrics
from bot.app import supervise
from bot.wakeup import drain_on_notify
from ledger import db
from tests.conftest import eventually

CHANNEL = "khaacho_test_wakeup"


async def test_the_listener_listens_again_after_its_connection_is_killed(pool):
    drains = 0

    async def drain() -> None:
        nonlocal drains
        drains += 1

    restarts = metrics.LISTENER_RESTARTS.labels(channel=CHANNEL)
    before = restarts._value.get()  # noqa: SLF001 - the counter's current value
    # A poll an hour long: only a NOTIFY can wake the worker within the test.
    task = asyncio.create_task(drain_on_notify(pool, CHANNEL, drain, 3600))
    try:
        await eventually(lambda: drains == 1)

        async def listener_pid():  # type: ignore[no-untyped-def]
            async with pool.acquire() as conn:
                return await conn.fetchval(
                    """SELECT pid FROM pg_stat_activity WHERE datname = current_database()
                         AND application_name = $1""", f"khaacho listens on {CHANNEL}")

        killed = await eventually(listener_pid)
        async with pool.acquire() as conn:
            assert await conn.fetchval("SELECT pg_terminate_backend($1)", killed)
        await eventually(lambda: restarts._value.get() == before + 1)  # noqa: SLF001
        assert await eventually(listener_pid) != killed
        seen = drains
        async with pool.acquire() as conn:
            await conn.execute(f"NOTIFY {CHANNEL}")
        await eventually(lambda: drains > seen)  # woken by the new listener, not a poll
        assert not task.done()
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_the_listeners_connection_goes_back_to_the_pool_as_new(database_url):
    """The pool skips asyncpg's reset query on release (ledger/db.py); the one connection that
    changes its session (LISTEN, its name) must undo that itself before going back."""
    pool = await db.create_pool(database_url, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            pid = await conn.fetchval("SELECT pg_backend_pid()")
        task = asyncio.create_task(drain_on_notify(pool, CHANNEL, _nothing, 3600))
        watcher = await db.connect(database_url)
        try:
            async def listening() -> bool:
                return bool(await watcher.fetchval(
                    "SELECT application_name = $2 FROM pg_stat_activity WHERE pid = $1",
                    pid, f"khaacho listens on {CHANNEL}"))
            await eventually(listening)  # on the pool's only connection
        finally:
            await watcher.close()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        async with pool.acquire() as conn:
            assert await conn.fetchval("SELECT pg_backend_pid()") == pid  # reused, not replaced
            assert await conn.fetchval("SELECT count(*) FROM pg_listening_channels()") == 0
            assert not (await conn.fetchval("SHOW application_name")).startswith("khaacho")
    finally:
        await pool.close()


async def _nothing() -> None:
    pass


async def test_restart_back_off_resets_after_healthy_running():
    clock = [0.0]
    slept: list[float] = []
    runs = 0

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += seconds

    async def worker() -> None:
        nonlocal runs
        runs += 1
        if runs == 5:
            clock[0] += 45  # this run was healthy for a while before the database went away
        if runs == 8:
            raise asyncio.CancelledError  # the end of the test
        raise ConnectionError("database went away")

    with contextlib.suppress(asyncio.CancelledError):
        await supervise("test", worker, first_delay=1.0, healthy_seconds=30, clock=lambda: clock[0],
                        sleep=sleep)
    # Failing at once backs off; after the healthy run the delay starts again from the first.
    assert slept == [1.0, 2.0, 4.0, 8.0, 1.0, 2.0, 4.0]


async def test_restart_back_off_is_capped():
    slept: list[float] = []
    runs = 0

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    async def worker() -> None:
        nonlocal runs
        runs += 1
        if runs > 10:
            raise asyncio.CancelledError
        raise ConnectionError("database went away")

    with contextlib.suppress(asyncio.CancelledError):
        await supervise("test", worker, first_delay=1.0, max_delay=60.0, clock=lambda: 0.0,
                        sleep=sleep)
    assert max(slept) == 60.0 and slept[-1] == 60.0
