"""`khaacho reminders run`: one round as of a moment; a dry run prints per retailer the message it
would send and why (as JSON too) and writes nothing; a real run logs and queues."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from tests.channel.test_cli import khaacho
from tests.ledger.conftest import build_world, line
from tests.ledger.helpers import accepted_order

NPT = timezone(timedelta(hours=5, minutes=45))


async def _counts(pool) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    async with pool.acquire() as conn:
        return (await conn.fetchval("SELECT count(*) FROM reminder_log"),
                await conn.fetchval("SELECT count(*) FROM outbox"))


async def test_a_dry_run_prints_what_it_would_send_and_why_and_sends_nothing(
        database_url, pool):  # type: ignore[no-untyped-def]
    async with pool.acquire() as conn:
        world = await build_world(conn)
        order = await accepted_order(conn, world.retailer, world.vendor, [line("TEL", 1)],
                                     now=datetime(2026, 11, 10, 11, 0, tzinfo=NPT))
    code, out, err = await khaacho(database_url, "reminders", "run", "--at",
                                   "2026-12-07T10:00", "--dry-run", "--json")
    assert code == 0, err
    printed = json.loads(out)
    assert printed["dry_run"] is True and printed["at"].startswith("2026-12-07T10:00:00+05:45")
    [decision] = [d for d in printed["decisions"] if d["kind"] == "reminder"]
    [digest] = [d for d in printed["decisions"] if d["kind"] == "digest"]
    assert digest["name"] == "Himal Traders" and "०–३० दिन: रु २४०" in digest["message"]
    assert (decision["kind"], decision["outcome"], decision["reason"], decision["sent_as"]) == (
        "reminder", "send", "due_soon", "template")
    assert decision["bills"][0]["order"] == order.number and decision["bills"][0]["days"] == -3
    assert decision["template"] == "khaacho_due_soon"
    assert decision["template_params"][0] == "Ram Kirana" and "रु" in decision["message"]
    assert await _counts(pool) == (0, 0)

    code, out, _ = await khaacho(database_url, "reminders", "run", "--at", "2026-12-07T10:00")
    assert code == 0 and "send  reminder" in out and "queued 2 message(s)" in out, out
    assert await _counts(pool) == (2, 2)  # the reminder, and Himal Traders' morning digest
    code, out, _ = await khaacho(database_url, "reminders", "run", "--at", "2026-12-07T12:00")
    assert "queued 0 message(s)" in out and await _counts(pool) == (2, 2)  # once a day


async def test_quiet_hours_are_shown_as_the_reason_and_a_bad_moment_is_refused(
        database_url, pool):  # type: ignore[no-untyped-def]
    async with pool.acquire() as conn:
        world = await build_world(conn)
        await accepted_order(conn, world.retailer, world.vendor, [line("TEL", 1)],
                             now=datetime(2026, 11, 10, 11, 0, tzinfo=NPT))
    code, out, _ = await khaacho(database_url, "reminders", "run", "--at",
                                 "2026-12-07T15:15:00+00:00", "--dry-run")  # 21:00 in Nepal
    assert code == 0 and "skip  reminder" in out and "quiet_hours" in out, out
    code, _, err = await khaacho(database_url, "reminders", "run", "--at", "next tuesday")
    assert code == 2 and "not an ISO date-time" in err
