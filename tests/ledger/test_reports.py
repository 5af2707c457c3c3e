"""The read API: dues per vendor, overdue, statements, ageing, open orders, the day's numbers."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import asyncpg
import pytest

from ledger import orders, payments, reports
from ledger.errors import NotPermitted
from locales.formats import NEPAL_TIME
from tests.ledger.conftest import World, line
from tests.ledger.helpers import accepted_order

T0 = datetime(2025, 1, 10, 5, 0, tzinfo=UTC)


async def test_balances_per_vendor_and_in_total_with_overdue(
    conn: asyncpg.Connection, world: World
) -> None:
    await accepted_order(conn, world.retailer, world.vendor, [line("TEL", 1)], T0)
    await accepted_order(conn, world.retailer, world.vendor2, [line("CHINI", 1)],
                         T0 + timedelta(days=20))
    dues = await reports.balances(conn, world.retailer.id, actor=world.retailer,
                                  now=T0 + timedelta(days=35))
    assert dues.total_paisa == 24_000 + 11_000
    by_vendor = {v.vendor_id: v for v in dues.vendors}
    assert by_vendor[world.vendor.id].overdue_paisa == 24_000       # due on day 30
    assert by_vendor[world.vendor2.id].overdue_paisa == 0
    assert dues.next_due_at == T0 + timedelta(days=50)
    assert dues.overdue_paisa == 24_000


async def test_statement_has_opening_running_and_closing_balances(
    conn: asyncpg.Connection, world: World
) -> None:
    first = await accepted_order(conn, world.retailer, world.vendor, [line("TEL", 1)], T0)
    await accepted_order(conn, world.retailer, world.vendor, [line("TEL", 2)],
                         T0 + timedelta(days=5))
    await payments.record_for_order(conn, first.id, 10_000, "bank", "TX-1", actor=world.vendor,
                                    idempotency_key="p", now=T0 + timedelta(days=6))
    page = await reports.statement(conn, world.retailer.id, T0 + timedelta(days=1),
                                   T0 + timedelta(days=10), actor=world.admin)
    assert page.opening_paisa == 24_000
    assert [(ln.kind, ln.amount_paisa, ln.balance_paisa) for ln in page.lines] == [
        ("ORDER_CREDIT", 48_000, 72_000), ("PAYMENT_DEBIT", -10_000, 62_000)]
    assert page.closing_paisa == 62_000


async def test_ageing_buckets_by_days_since_billing(conn: asyncpg.Connection, world: World) -> None:
    now = T0 + timedelta(days=100)
    for days_ago, litres in ((10, 1), (45, 2), (75, 3), (95, 4)):
        await accepted_order(conn, world.retailer, world.vendor, [line("TEL", litres)],
                             now - timedelta(days=days_ago))
    aged = await reports.ageing(conn, actor=world.admin, retailer_id=world.retailer.id, now=now)
    assert (aged.d0_30, aged.d31_60, aged.d61_90, aged.d90_plus) == (
        24_000, 48_000, 72_000, 96_000)
    assert aged.total == 240_000


async def test_open_orders_history_and_receivables(conn: asyncpg.Connection, world: World) -> None:
    accepted = await accepted_order(conn, world.retailer, world.vendor, [line("TEL", 1)])
    draft = await orders.create_draft(conn, world.retailer, [line("CHAMAL", 5)])
    open_now = await reports.open_orders(conn, actor=world.vendor, vendor_id=world.vendor.id)
    assert [o.number for o in open_now] == [accepted.number]
    assert open_now[0].payment_status == "UNPAID"
    past = await reports.history(conn, world.retailer.id, actor=world.retailer)
    assert [o.id for o in past] == [accepted.id]
    mine = await reports.open_orders(conn, actor=world.retailer, retailer_id=world.retailer.id)
    assert draft.id not in [o.id for o in mine]
    [owed] = await reports.receivables(conn, world.vendor.id, actor=world.vendor)
    assert (owed.retailer_id, owed.balance_paisa) == (world.retailer.id, 24_000)


async def test_daily_report_counts_the_local_day(conn: asyncpg.Connection, world: World) -> None:
    # 20:00 UTC on 9 Jan is 01:45 on 10 Jan in Kathmandu.
    late = datetime(2025, 1, 9, 20, 0, tzinfo=UTC)
    await accepted_order(conn, world.retailer, world.vendor, [line("TEL", 1)], late)
    day = await reports.daily_report(conn, date(2025, 1, 10), actor=world.admin)
    assert (day.orders, day.orders_value_paisa, day.outstanding_paisa) == (1, 24_000, 24_000)
    assert (await reports.daily_report(conn, date(2025, 1, 9), actor=world.admin)).orders == 0
    later = await reports.daily_report(conn, date(2025, 2, 15), actor=world.admin)
    assert later.overdue_paisa == 24_000


async def test_statement_closing_balance_counts_entries_beyond_the_line_limit(
    conn: asyncpg.Connection, world: World
) -> None:
    await accepted_order(conn, world.retailer, world.vendor, [line("TEL", 1)], T0)
    await accepted_order(conn, world.retailer, world.vendor, [line("TEL", 2)],
                         T0 + timedelta(days=1))
    page = await reports.statement(conn, world.retailer.id, T0 - timedelta(days=1),
                                   T0 + timedelta(days=10), actor=world.admin, limit=1)
    assert [ln.amount_paisa for ln in page.lines] == [24_000]
    assert (page.opening_paisa, page.closing_paisa) == (0, 72_000)


async def test_daily_report_counts_an_order_on_the_day_it_was_confirmed_after_a_rejection(
    conn: asyncpg.Connection, world: World
) -> None:
    # 05:00 UTC is 10:45 in Kathmandu; the vendor turns it down the next day.
    draft = await orders.create_draft(conn, world.retailer, [line("CHINI", 1)])
    await orders.confirm(conn, draft.id, world.retailer, now=T0)
    await orders.reject(conn, draft.id, world.vendor2, "busy", now=T0 + timedelta(days=1))
    assert (await orders.get(conn, draft.id)).confirmed_at == T0
    assert (await reports.daily_report(conn, date(2025, 1, 10), actor=world.admin)).orders == 1
    assert (await reports.daily_report(conn, date(2025, 1, 11), actor=world.admin)).orders == 0


async def test_daily_report_for_a_past_day_counts_what_was_overdue_then(
    conn: asyncpg.Connection, world: World
) -> None:
    order = await accepted_order(conn, world.retailer, world.vendor, [line("TEL", 1)], T0)
    # Due on 9 Feb; paid only on 20 Feb, so on 15 Feb all of it was owed and overdue.
    await payments.record_for_order(conn, order.id, 24_000, "cash", actor=world.vendor,
                                    idempotency_key="late", now=T0 + timedelta(days=41))
    past = await reports.daily_report(conn, date(2025, 2, 15), actor=world.admin)
    assert (past.outstanding_paisa, past.overdue_paisa) == (24_000, 24_000)
    after = await reports.daily_report(conn, date(2025, 2, 21), actor=world.admin)
    assert (after.outstanding_paisa, after.overdue_paisa) == (0, 0)


async def test_reads_show_each_role_only_what_is_theirs(conn, world):
    await accepted_order(conn, world.retailer, world.vendor, [line("TEL", 1)])  # only it has oil
    # Staff see everyone; a retailer their own; a vendor the retailers they serve.
    for actor in (world.admin, world.operator, world.retailer, world.vendor):
        assert (await reports.balances(conn, world.retailer.id, actor=actor)).total_paisa > 0
    for actor, retailer in ((world.retailer2, world.retailer), (world.vendor2, world.retailer),
                            (world.vendor, world.retailer2)):
        with pytest.raises(NotPermitted):
            await reports.balances(conn, retailer.id, actor=actor)
        with pytest.raises(NotPermitted):
            await reports.history(conn, retailer.id, actor=actor)
    with pytest.raises(NotPermitted):
        await reports.receivables(conn, world.vendor.id, actor=world.vendor2)
    with pytest.raises(NotPermitted):  # the whole town is for staff
        await reports.open_orders(conn, actor=world.vendor)
    with pytest.raises(NotPermitted):
        await reports.daily_report(conn, date(2025, 1, 10), actor=world.retailer)
    assert await reports.open_orders(conn, actor=world.operator)


async def test_todays_report_reads_balances_and_open_bills_and_agrees_with_the_exact_one(
    conn: asyncpg.Connection, world: World
) -> None:
    # Long ago: one bill never paid; one delivered, paid (completed) and its payment bounced;
    # one paid in part. Today's figures come from the accounts and open bills, yesterday's from
    # the entries as they stood: nothing happened in between, so they must agree.
    bounced = await accepted_order(conn, world.retailer, world.vendor, [line("TEL", 2)], T0)
    await orders.dispatch(conn, bounced.id, world.vendor, now=T0)
    await orders.deliver(conn, bounced.id, world.vendor, now=T0)
    paid = await payments.record_for_order(conn, bounced.id, 48_000, "cheque", actor=world.vendor,
                                           idempotency_key="cheque", now=T0 + timedelta(days=1))
    assert (await orders.get(conn, bounced.id)).status == "COMPLETED"
    await payments.reverse_payment(conn, paid.payment_id, world.admin, "cheque bounced",
                                   idempotency_key="bounce", now=T0 + timedelta(days=2))
    unpaid = await accepted_order(conn, world.retailer, world.vendor, [line("TEL", 1)],
                                  T0 + timedelta(days=3))
    part = await accepted_order(conn, world.retailer2, world.vendor, [line("TEL", 1)], T0)
    await payments.record_for_order(conn, part.id, 4_000, "cash", actor=world.vendor,
                                    idempotency_key="part", now=T0 + timedelta(days=3))
    today = datetime.now(NEPAL_TIME).date()
    now = await reports.daily_report(conn, today, actor=world.operator)
    then = await reports.daily_report(conn, today - timedelta(days=1), actor=world.operator)
    assert (now.outstanding_paisa, now.overdue_paisa) == (92_000, 92_000)
    assert (then.outstanding_paisa, then.overdue_paisa) == (now.outstanding_paisa,
                                                            now.overdue_paisa)
    assert unpaid.total_paisa + 48_000 + 20_000 == 92_000


async def test_todays_overdue_reads_only_the_bills_that_owe_in_a_generic_plan(
    conn: asyncpg.Connection,
) -> None:
    """Once PostgreSQL keeps one plan for the statement (the statement cache does after a few
    runs), today's overdue figure still reads the bills that owe (migration 030) by due date,
    never the year's orders or their allocations."""
    await conn.execute("SET plan_cache_mode = force_generic_plan")
    await conn.execute("SET enable_seqscan = off")  # an empty table: seq scans would be cheap
    try:
        await conn.execute(f"PREPARE overdue_now(timestamptz) AS {reports._OVERDUE_NOW}")
        plan = json.dumps(await conn.fetchval("EXPLAIN (FORMAT JSON) EXECUTE overdue_now(now())"))
    finally:
        await conn.execute("DEALLOCATE ALL")
        await conn.execute("RESET plan_cache_mode")
        await conn.execute("RESET enable_seqscan")
    assert "bills_owing_due" in plan
    assert '"orders"' not in plan and "payment_allocations" not in plan
