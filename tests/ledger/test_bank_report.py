"""The bank report's content: who the shop is, each section's numbers on a constructed ledger
(a vendor's old book imported, then live orders), point in time, rights, and the canonical dict
that is signed reads back as the same report."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from itertools import pairwise

import asyncpg
import pytest

from ledger import bank_report, disputes, khata, orders
from ledger.bank_report import BadContent
from ledger.errors import NotPermitted
from locales.formats import NEPAL_TIME
from tests.ledger.conftest import World, line
from tests.ledger.helpers import accepted_order

HEADER = "date,vendor_phone,retailer_phone,retailer_name,kind,amount,reference,due_date,method"
# The end of 20 Nov 2026 in Nepal (4 Mangsir 2083): what `khaacho report --as-of` means.
AS_OF = datetime.combine(date(2026, 11, 21), time(), NEPAL_TIME) - timedelta(microseconds=1)


def local(phone: str | None) -> str:
    assert phone is not None
    return phone.removeprefix("+977")


async def import_history(conn: asyncpg.Connection, world: World, *rows: str,
                         today: date = date(2026, 11, 20)) -> None:
    result = await khata.import_book(conn, [HEADER + "\n", *(r + "\n" for r in rows)],
                                     starter_limit_paisa=1_000_000, today=today)
    assert result.ok, result.problems


async def history(conn: asyncpg.Connection, world: World) -> None:
    """A year with two vendors: on time, 20 days late, on time, unpaid 50 days, part paid."""
    v1, v2, r = local(world.vendor.phone), local(world.vendor2.phone), local(
        world.retailer.phone)
    await import_history(
        conn, world,
        f"2025-12-10,{v1},{r},,sale,10000,B-1,,",       # due 2026-01-09, outside the 12 months
        f"2026-01-05,{v1},{r},,payment,10000,R-1,,cash",
        f"2026-03-01,{v1},{r},,sale,20000,B-2,,",       # due 03-31, paid 20 days late
        f"2026-04-20,{v1},{r},,payment,20000,R-2,,esewa",
        f"2026-06-15,{v1},{r},,sale,5000,B-3,,",        # due 07-15, paid early
        f"2026-07-10,{v1},{r},,payment,5000,R-3,,bank",
        f"2026-10-10,{v1},{r},,sale,4000,B-4,2026-10-20,",  # 1000 paid, 3000 31 days late
        f"2026-11-01,{v1},{r},,payment,1000,R-4,,cash",
        f"2026-09-01,{v2},{r},,sale,8000,T-1,,",        # due 10-01, unpaid: 50 days late
        f"2026-11-01,{v2},{r},,sale,3000,T-2,,",        # due 12-01: not yet due
    )


async def test_each_section_says_what_the_ledger_knew_as_of_the_day(
    conn: asyncpg.Connection, world: World
) -> None:
    await history(conn, world)
    report = await bank_report.build(conn, None, world.retailer.id, as_of=AS_OF)
    shop = report.shop
    assert (shop.shop_name, shop.phone) == ("Ram Kirana", world.retailer.phone)
    assert shop.history_since == date(2025, 12, 10)
    assert shop.credit_limit_paisa == 5_000_000

    months = report.months
    assert len(months) == 12
    assert (months[0].bs_year, months[0].bs_month) == (2082, 9)    # Poush 2082
    assert (months[-1].bs_year, months[-1].bs_month) == (2083, 8)  # Mangsir 2083, to date
    assert months[-1].end == date(2026, 11, 20)
    assert all(a.end + timedelta(days=1) == b.start for a, b in pairwise(months))
    # The December 2025 bill is in Mangsir 2082, before the twelve months; its payment is in.
    assert sum(m.purchases_paisa for m in months) == 4_000_000
    assert sum(m.repayments_paisa for m in months) == 3_600_000
    assert sum(m.bills for m in months) == 5
    falgun = next(m for m in months if m.start <= date(2026, 3, 1) <= m.end)
    assert (falgun.bs_month, falgun.purchases_paisa, falgun.bills) == (11, 2_000_000, 1)

    t = report.timeliness
    assert (t.bills_due, t.bills_on_time) == (5, 2)
    assert (t.average_days_past_due, t.worst_days_past_due) == (20, 50)  # (0+20+0+50+31)/5

    d = report.dues
    assert (d.owed_paisa, d.not_due_paisa, d.oldest_days_past_due) == (1_400_000, 300_000, 50)
    assert d.past_due_paisa == (0, 1_100_000, 0, 0)

    by_name = {v.name: v for v in report.vendors}
    himal, terai = by_name["Himal Traders"], by_name["Terai Wholesale"]
    assert (himal.since, himal.billed_paisa, himal.paid_paisa, himal.owed_paisa) == (
        date(2025, 12, 10), 3_900_000, 3_600_000, 300_000)
    assert (terai.since, terai.billed_paisa, terai.paid_paisa, terai.owed_paisa) == (
        date(2026, 9, 1), 1_100_000, 0, 1_100_000)

    assert (report.disputes.raised, report.disputes.open) == (0, 0)
    # A vendor's book is the vendor's word alone: nothing of it is acknowledged by the shop.
    assert report.acknowledged.recorded_paisa == 4_000_000 + 1_000_000 + 3_600_000
    assert report.acknowledged.acknowledged_paisa == 0

    assert report.score.score is not None and report.score.band is not None
    assert report.score.meaning_en and report.score.meaning_ne
    assert {f.key for f in report.score.factors} >= {"timeliness", "overdue"}
    assert all(f.en and f.ne for f in report.score.factors + report.score.improvements)


async def test_later_entries_do_not_change_a_report_as_of_a_past_day(
    conn: asyncpg.Connection, world: World
) -> None:
    await history(conn, world)
    before = bank_report.content(await bank_report.build(conn, None, world.retailer.id,
                                                         as_of=AS_OF))
    v2, r = local(world.vendor2.phone), local(world.retailer.phone)
    await import_history(conn, world, f"2026-11-22,{v2},{r},,payment,8000,T-R1,,cash",
                         f"2026-11-23,{v2},{r},,sale,9000,T-3,,", today=date(2026, 11, 25))
    await accepted_order(conn, world.retailer, world.vendor, [line("TEL", 2)])
    after_report = await bank_report.build(conn, None, world.retailer.id, as_of=AS_OF)
    after = bank_report.content(after_report)
    assert before.pop("report_id") != after.pop("report_id")  # each report its own id
    assert before.pop("issued_at") < after.pop("issued_at")
    assert after == before
    now = bank_report.content(await bank_report.build(conn, None, world.retailer.id))
    assert now["dues"]["owed_paisa"] != before["dues"]["owed_paisa"]


async def test_acknowledged_share_and_disputes_count_what_both_sides_said(
    conn: asyncpg.Connection, world: World
) -> None:
    await history(conn, world)
    order = await accepted_order(conn, world.retailer, world.vendor, [line("TEL", 2)])
    for step in (orders.dispatch, orders.deliver):
        await step(conn, order.id, world.vendor)
    await disputes.report_problem(conn, order.id, world.retailer, "missing", "2 kg short")
    report = await bank_report.build(conn, world.retailer, world.retailer.id)
    placed = order.total_paisa
    # The shop placed the order itself: that bill is acknowledged; the old book is not.
    assert report.acknowledged.acknowledged_paisa == placed
    assert report.acknowledged.recorded_paisa == 8_600_000 + placed
    assert (report.disputes.raised, report.disputes.open) == (1, 1)
    before = await bank_report.build(conn, None, world.retailer.id, as_of=AS_OF)
    assert (before.disputes.raised, before.acknowledged.acknowledged_paisa) == (0, 0)


async def test_the_retailer_and_staff_may_build_it_and_nobody_else(
    conn: asyncpg.Connection, world: World
) -> None:
    for actor in (world.retailer, world.admin, world.operator, None):
        report = await bank_report.build(conn, actor, world.retailer.id)
        assert report.shop.retailer_id == world.retailer.id
    for actor in (world.retailer2, world.vendor, world.vendor2):
        with pytest.raises(NotPermitted):
            await bank_report.build(conn, actor, world.retailer.id)


async def test_a_shop_with_no_history_gets_a_report_that_says_no_score_and_why(
    conn: asyncpg.Connection, world: World
) -> None:
    report = await bank_report.build(conn, None, world.retailer2.id)
    assert report.score.score is None and report.score.reason_en and report.score.reason_ne
    assert report.shop.history_since is None and report.vendors == ()
    assert all(m.purchases_paisa == 0 for m in report.months)


async def test_the_canonical_dict_is_json_with_integer_money_and_reads_back(
    conn: asyncpg.Connection, world: World
) -> None:
    await history(conn, world)
    report = await bank_report.build(conn, None, world.retailer.id, as_of=AS_OF)
    content = bank_report.content(report)
    text = json.dumps(content, sort_keys=True, ensure_ascii=False)
    assert "." not in "".join(str(v) for k, v in _leaves(content) if k.endswith("_paisa"))
    assert content["schema"] == bank_report.SCHEMA and content["kind"] == bank_report.KIND
    assert content["as_of"] == "2026-11-20T18:14:59.999999Z"
    assert bank_report.from_content(json.loads(text)) == report
    with pytest.raises(BadContent):
        bank_report.from_content({**content, "schema": 99})
    with pytest.raises(BadContent):
        bank_report.from_content({k: v for k, v in content.items() if k != "dues"})


def _leaves(value: object, key: str = "") -> list[tuple[str, object]]:
    if isinstance(value, dict):
        return [leaf for k, v in value.items() for leaf in _leaves(v, k)]
    if isinstance(value, list):
        return [leaf for v in value for leaf in _leaves(v, key)]
    return [(key, value)]


async def test_the_report_carries_each_accounts_chain_head_as_written_by_then(
    conn: asyncpg.Connection, world: World
) -> None:
    await accepted_order(conn, world.retailer, world.vendor, [line("TEL", 2)])
    written = await conn.fetchval("SELECT now()")
    await history(conn, world)
    report = await bank_report.build(conn, None, world.retailer.id)
    heads = {h.vendor_id: h for h in report.heads}
    assert set(heads) == {world.vendor.id, world.vendor2.id}
    newest = await conn.fetch(
        """SELECT DISTINCT ON (a.vendor_id) a.vendor_id, e.id, e.account_version, e.entry_hash
           FROM ledger_entries e JOIN ledger_accounts a ON a.id = e.account_id
           WHERE a.retailer_id = $1 ORDER BY a.vendor_id, e.account_version DESC""",
        world.retailer.id)
    for row in newest:
        head = heads[row["vendor_id"]]
        assert (head.entry_id, head.account_version, head.hash_hex) == (
            row["id"], row["account_version"], bytes(row["entry_hash"]).hex())
    assert await bank_report.check_heads(conn, report.heads) == []
    # As of a moment before the old book was imported, only the live order had been written.
    earlier = await bank_report.build(conn, None, world.retailer.id, as_of=written)
    assert [(h.vendor_id, h.account_version) for h in earlier.heads] == [(world.vendor.id, 1)]
    content = bank_report.content(report)
    assert content["chain"][0]["hash"] == report.heads[0].hash_hex
