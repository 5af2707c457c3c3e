"""The synthetic town (`khaacho demo --town`): a tiny one is what was asked, and a ledger the
check passes."""

from __future__ import annotations

from datetime import date

import asyncpg
import pytest

from ledger import check, db, lifecycle, synthetic
from tests.channel.test_cli import khaacho


async def test_a_tiny_town_is_as_asked_and_the_ledger_check_passes(superuser_url: str) -> None:
    conn = await db.connect(superuser_url)
    try:
        loaded = await synthetic.load(conn, retailers=30, vendors=5, per_day=40, days=20,
                                      end=date(2026, 3, 31))
        counts = loaded.counts
        assert counts["retailers"] == 30 and counts["vendors"] == 5
        assert counts["users"] == 36 and counts["orders"] == 800
        assert counts["products"] > 50  # the shared catalog
        result = await check.run(conn)
        assert result.ok, result.lines()
        assert result.entries == counts["ledger_entries"] > 0
        # Every step of the lifecycle is there, and each order's last logged step is its status.
        statuses = dict(await conn.fetch("SELECT status, count(*) FROM orders GROUP BY 1"))
        assert set(statuses) >= {"COMPLETED", "DELIVERED", "REJECTED", "CANCELLED"}
        assert set(statuses) <= set(lifecycle.STATUSES)
        billed = await conn.fetchval(
            "SELECT count(*) FROM orders WHERE status = ANY($1::text[])",
            list(lifecycle.BILLED_STATUSES))
        credits = await conn.fetchval(
            "SELECT count(*) FROM ledger_entries WHERE kind = 'ORDER_CREDIT'")
        assert credits == billed
        assert counts["payments"] == statuses["COMPLETED"]
        # Messages: every order's text came in and was answered; every reply names one.
        texts = await conn.fetchval("SELECT count(*) FROM inbound_messages WHERE kind = 'text'")
        assert texts == 800
        assert await conn.fetchval("SELECT count(*) FROM outbox WHERE status <> 'sent'") == 0
        assert counts["outbox"] > counts["inbound_messages"] > 2 * 800
        # Each vendor's record is what its offers and orders add up to (migration 026).
        from tests.ledger.test_vendor_record import record, recount
        assert await record(conn) == await recount(conn)
        assert counts["vendor_record"] == 5
        # New orders follow on: the sequences were moved past the loaded rows.
        assert await conn.fetchval("SELECT nextval('orders_id_seq')") == 801
        # The draft numbers and order numbers the services hand out keep the format.
        assert await conn.fetchval("SELECT padded_number('KH-', 1234567)") == "KH-1234567"
        assert await conn.fetchval("SELECT padded_number('KH-', 12)") == "KH-000012"
        # The town's numbers are the services' (no seventh digit lost past order 999,999).
        assert await conn.fetchval(
            "SELECT count(*) FROM orders WHERE number <> padded_number('KH-', id)") == 0
        with pytest.raises(synthetic.NotEmpty):
            await synthetic.load(conn, retailers=3, vendors=3, per_day=1, days=1)
    finally:
        await conn.close()


async def test_demo_town_on_the_command_line(superuser_url: str, database_url: str) -> None:
    code, out, err = await khaacho(superuser_url, "demo", "--town", "--months", "0.2",
                                   "--scale", "0.002", "--retailers", "12", "--vendors", "4",
                                   "--no-messages")
    assert code == 0, err
    assert "orders" in out and "khaacho check" in out
    code, out, _ = await khaacho(database_url, "check")
    assert code == 0 and "ledger consistent" in out
    conn = await asyncpg.connect(superuser_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM orders") == 20 * 6
        assert await conn.fetchval("SELECT count(*) FROM inbound_messages") == 0
    finally:
        await conn.close()
    # The app's role is no superuser: the town is refused, with the reason.
    code, _, err = await khaacho(database_url, "demo", "--town")
    assert code == 2 and "superuser" in err
