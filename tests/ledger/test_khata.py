"""ledger.khata: a vendor's existing book comes in whole or not at all, keeps its own dates,
pays bills oldest first as live payments do, and a second import of the same book changes
nothing. Every test ends with `khaacho check` agreeing (the `conn` fixture)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import asyncpg
import pytest

from ledger import credit, khata, orders, payments, reports
from ledger.khata import happened_at
from tests.ledger.conftest import World, line, make_user
from tests.ledger.helpers import accepted_order

TODAY = date(2026, 11, 20)
HEADER = "date,vendor_phone,retailer_phone,retailer_name,kind,amount,reference,due_date,method"
STARTER = 1_000_000  # paisa


def book(*rows: str, header: str = HEADER) -> list[str]:
    return [header + "\n", *(r + "\n" for r in rows)]


async def run(conn: asyncpg.Connection, lines: list[str], **kw: object) -> khata.ImportResult:
    return await khata.import_book(conn, lines, starter_limit_paisa=STARTER, today=TODAY,
                                   **kw)  # type: ignore[arg-type]


def local(phone: str | None) -> str:
    assert phone is not None
    return phone.removeprefix("+977")


async def counts(conn: asyncpg.Connection) -> tuple[int, ...]:
    row = await conn.fetchrow(
        """SELECT (SELECT count(*) FROM orders), (SELECT count(*) FROM payments),
                  (SELECT count(*) FROM ledger_entries), (SELECT count(*) FROM users),
                  (SELECT count(*) FROM khata_import_rows)""")
    return tuple(row)


async def test_a_book_is_imported_with_its_dates_and_marked_imported(
    conn: asyncpg.Connection, world: World
) -> None:
    v, r = local(world.vendor.phone), local(world.retailer.phone)
    result = await run(conn, book(
        # Not sorted: the payment is read first but posted after the bills it pays.
        f"2026-03-05,{v},{r},,payment,700,R-1,,esewa",
        f"2026-03-01,{v},{r},Ram Kirana,sale,500.50,B-1,,",
        f"2026-03-02,{v},{r},,sale,300,B-2,2026-03-20,",
    ))
    assert result.ok, result.problems
    assert (result.sales, result.payments, result.replayed, result.retailers_added) == (2, 1, 0, 0)
    entries = await conn.fetch(
        """SELECT e.kind, e.amount_paisa, e.happened_at, e.source, e.stated_by,
                  e.acknowledged_by, e.created_at FROM ledger_entries e ORDER BY e.id""")
    assert [(e["kind"], e["amount_paisa"], e["happened_at"]) for e in entries] == [
        ("ORDER_CREDIT", 50_050, happened_at(date(2026, 3, 1))),
        ("ORDER_CREDIT", 30_000, happened_at(date(2026, 3, 2))),
        ("PAYMENT_DEBIT", -70_000, happened_at(date(2026, 3, 5))),
    ]
    assert {(e["source"], e["stated_by"], e["acknowledged_by"]) for e in entries} == {
        ("import", world.vendor.id, None)}
    assert all(e["created_at"] > e["happened_at"] for e in entries)
    bills = await conn.fetch(
        """SELECT number, reference, status, accepted_at, due_at, source FROM orders
           ORDER BY id""")
    # Due: the retailer's 30 days of credit after the sale, or the date the book gives.
    assert [(b["reference"], b["status"], b["due_at"]) for b in bills] == [
        ("B-1", "COMPLETED", happened_at(date(2026, 3, 31))),
        ("B-2", "DELIVERED", happened_at(date(2026, 3, 20))),
    ]
    assert all(b["number"].startswith("KB-") and b["source"] == "import" for b in bills)
    payment = await conn.fetchrow("SELECT method, reference, received_at, source FROM payments")
    assert tuple(payment) == ("esewa", "R-1", happened_at(date(2026, 3, 5)), "import")
    # Oldest first: B-1 is paid off (and COMPLETED on the day), B-2 gets the rest.
    allocated = await conn.fetch(
        """SELECT o.reference, pa.amount_paisa FROM payment_allocations pa
           JOIN orders o ON o.id = pa.order_id ORDER BY o.id""")
    assert [tuple(a) for a in allocated] == [("B-1", 50_050), ("B-2", 19_950)]
    closed = await conn.fetchval("SELECT closed_at FROM orders WHERE reference = 'B-1'")
    assert closed == happened_at(date(2026, 3, 5))
    balance = await reports.balances(conn, world.retailer.id, actor=world.retailer,
                                     now=happened_at(TODAY))
    assert (balance.total_paisa, balance.overdue_paisa) == (10_050, 10_050)


async def test_importing_the_same_book_again_changes_nothing(
    conn: asyncpg.Connection, world: World
) -> None:
    v, r = local(world.vendor.phone), local(world.retailer.phone)
    lines = book(f"2026-03-01,{v},{r},,sale,500,B-1,,", f"2026-03-04,{v},{r},,payment,200,R-1,,")
    assert (await run(conn, lines)).ok
    before = await counts(conn)
    again = await run(conn, lines)
    assert again.ok and (again.sales, again.payments, again.replayed) == (0, 0, 2)
    assert await counts(conn) == before
    # One new line in an otherwise known book: only it is posted.
    more = await run(conn, [*lines, f"2026-03-06,{v},{r},,sale,100,B-2,,\n"])
    assert (more.sales, more.replayed) == (1, 2)


async def test_the_same_reference_with_other_content_refuses_the_file(
    conn: asyncpg.Connection, world: World
) -> None:
    v, r = local(world.vendor.phone), local(world.retailer.phone)
    assert (await run(conn, book(f"2026-03-01,{v},{r},,sale,500,B-1,,"))).ok
    before = await counts(conn)
    result = await run(conn, book(f"2026-03-03,{v},{r},,sale,900,B-9,,",
                                  f"2026-03-01,{v},{r},,sale,550,B-1,,"))
    assert not result.ok and result.errors == 1
    (problem,) = result.problems
    assert (problem.line, problem.column) == (3, "reference")
    assert "B-1 was imported on" in problem.message and "Rs 500" in problem.message
    assert await counts(conn) == before  # B-9, right as it is, was not imported either


async def test_every_error_is_named_by_line_and_column_and_nothing_is_written(
    conn: asyncpg.Connection, world: World
) -> None:
    v, r = local(world.vendor.phone), local(world.retailer.phone)
    before = await counts(conn)
    result = await run(conn, book(
        f"2026-02-30,{v},{r},,sale,500,B-1,,",           # no such day
        f"2026-03-01,9811111111,{r},,sale,500,B-2,,",    # no such vendor
        f"2026-03-01,{v},12ab,,sale,500,B-3,,",          # not a phone
        f"2026-03-01,{v},{r},,gift,500,B-4,,",           # kind
        f"2026-03-01,{v},{r},,sale,-5,B-5,,",            # amount
        f"2026-03-01,{v},{r},,sale,5.555,B-6,,",         # three decimals
        f"2026-03-01,{v},{r},,sale,500,,,",              # no reference
        f"2026-03-05,{v},{r},,sale,500,B-8,2026-03-01,", # due before the sale
        f"2026-03-01,{v},{r},,payment,100,R-1,,bitcoin", # method
        f"2026-03-01,{v},{r},,sale,500,B-10,,cash",      # a sale has no method
        f"2026-12-01,{v},{r},,sale,500,B-11,,",          # the future (today is 2026-11-20)
        f"2026-03-01,{v},9822222222,,sale,500,B-12,,",   # a new retailer never named
        f"2026-03-01,{v},{r},,sale,500,B-13,,",          # right, but the file is refused
        f"2026-03-02,{v},{r},,sale,700,B-13,,",          # the same reference twice
        f"2026-03-01,{v},{r},,sale",                     # cells missing
    ))
    assert not result.ok
    assert [(p.line, p.column) for p in result.problems] == [
        (2, "date"), (3, "vendor_phone"), (4, "retailer_phone"), (5, "kind"), (6, "amount"),
        (7, "amount"), (8, "reference"), (9, "due_date"), (10, "method"), (11, "method"),
        (12, "date"), (13, "retailer_name"), (15, "reference"), (16, ""),
    ]
    assert "also on line 14" in result.problems[12].message
    assert await counts(conn) == before


async def test_a_bad_header_is_refused_naming_the_columns(
    conn: asyncpg.Connection, world: World
) -> None:
    result = await run(conn, book("2026-03-01,x,y,sale,5,B",
                                  header="date,vendor_phone,retailer,kind,amount,colour"))
    assert [(p.line, p.column, p.message.split(" (")[0]) for p in result.problems] == [
        (1, "retailer", "unknown column"), (1, "colour", "unknown column"),
        (1, "retailer_phone", "column missing"), (1, "reference", "column missing")]


async def test_a_payment_is_never_more_than_was_owed_at_its_date(
    conn: asyncpg.Connection, world: World
) -> None:
    v, r = local(world.vendor.phone), local(world.retailer.phone)
    result = await run(conn, book(
        f"2026-03-01,{v},{r},,sale,500,B-1,,",
        f"2026-03-02,{v},{r},,payment,600,R-1,,",  # only 500 owed by then
        f"2026-03-10,{v},{r},,sale,500,B-2,,",
    ))
    assert [(p.line, p.column) for p in result.problems] == [(3, "amount")]
    assert "more than the Rs 500 owed" in result.problems[0].message
    # On the same day a sale comes before a payment, whatever the file's order.
    same_day = await run(conn, book(f"2026-03-01,{v},{r},,payment,500,R-1,,cash",
                                    f"2026-03-01,{v},{r},,sale,500,B-1,,"))
    assert same_day.ok and same_day.payments == 1


async def test_unknown_retailers_are_added_approved_with_the_starter_limit(
    conn: asyncpg.Connection, world: World
) -> None:
    v = local(world.vendor.phone)
    result = await run(conn, book(f"2026-03-01,{v},9841000001,Naya Pasal,sale,500,B-1,,",
                                  f"2026-03-02,{v},+9779841000001,,sale,200,B-2,,"))
    assert result.ok and result.retailers_added == 1
    row = await conn.fetchrow(
        """SELECT u.id, u.role, u.active, r.shop_name, r.credit_limit_paisa, g.status
           FROM users u JOIN retailers r ON r.user_id = u.id
           JOIN registrations g ON g.user_id = u.id WHERE u.phone = '+9779841000001'""")
    assert tuple(row)[1:] == ("RETAILER", True, "Naya Pasal", STARTER, "APPROVED")
    # Linked to the vendor: the vendor sees them, and their balance is the book's.
    found = await reports.receivables(conn, world.vendor.id, actor=world.vendor)
    assert [(f.shop_name, f.balance_paisa) for f in found] == [("Naya Pasal", 70_000)]


async def test_a_phone_in_another_role_is_not_a_retailer(
    conn: asyncpg.Connection, world: World
) -> None:
    v, admin = local(world.vendor.phone), local(world.admin.phone)
    result = await run(conn, book(f"2026-03-01,{v},{admin},Boss,sale,500,B-1,,"))
    assert [(p.column, p.message.endswith("is a admin, not a retailer")) for p in
            result.problems] == [("retailer_phone", True)]


async def test_a_dry_run_checks_everything_and_changes_nothing(
    conn: asyncpg.Connection, world: World
) -> None:
    v, r = local(world.vendor.phone), local(world.retailer.phone)
    before = await counts(conn)
    result = await run(conn, book(f"2026-03-01,{v},{r},,sale,500,B-1,,",
                                  f"2026-03-01,{v},9841000002,New,sale,500,B-2,,"), dry_run=True)
    assert result.ok and result.dry_run and (result.sales, result.retailers_added) == (2, 1)
    assert await counts(conn) == before


async def test_imported_payments_pay_the_oldest_bill_first_live_ones_included(
    conn: asyncpg.Connection, world: World
) -> None:
    """A live order billed today is newer than the book's bills: the book's payment pays the
    old bill first, then the live order, exactly as a live payment would."""
    w = world
    live = await accepted_order(conn, w.retailer, w.vendor, [line("TEL", 1, "l")])  # Rs 240
    v, r = local(w.vendor.phone), local(w.retailer.phone)
    result = await run(conn, book(f"2026-03-01,{v},{r},,sale,100,B-1,,",
                                  f"2026-03-05,{v},{r},,payment,150,R-1,,"))
    assert result.ok
    paid = {row["id"]: row["paid"] for row in await conn.fetch(
        """SELECT o.id, COALESCE(sum(pa.amount_paisa), 0) AS paid FROM orders o
           LEFT JOIN payment_allocations pa ON pa.order_id = o.id GROUP BY o.id""")}
    bill = await conn.fetchval("SELECT id FROM orders WHERE reference = 'B-1'")
    assert (paid[bill], paid[live.id]) == (10_000, 5_000)
    # And a live payment afterwards continues from there, oldest first.
    later = await payments.record(conn, retailer_id=w.retailer.id, vendor_id=w.vendor.id,
                                  amount_paisa=19_000, method="cash", actor=w.vendor,
                                  idempotency_key="after-import")
    assert [(a.order_id, a.payment_status) for a in later.allocations] == [(live.id, "PAID")]


async def test_the_import_counts_in_ageing_by_the_bills_dates(
    conn: asyncpg.Connection, world: World
) -> None:
    v, r = local(world.vendor.phone), local(world.retailer.phone)
    assert (await run(conn, book(f"2026-06-01,{v},{r},,sale,100,B-1,,",
                                 f"2026-11-01,{v},{r},,sale,200,B-2,,"))).ok
    aged = await reports.ageing(conn, actor=world.vendor, vendor_id=world.vendor.id,
                                now=happened_at(TODAY) + timedelta(hours=12))
    assert (aged.d0_30, aged.d90_plus) == (20_000, 10_000)
    # Imported bills are not orders the retailer placed: not in "status" or "history".
    assert await reports.open_orders(conn, actor=world.retailer,
                                     retailer_id=world.retailer.id) == []
    assert await reports.history(conn, world.retailer.id, actor=world.retailer) == []
    position = await credit.position(conn, world.retailer.id)
    assert position.balance_paisa == 30_000


async def test_a_retailer_with_an_imported_balance_is_still_held_to_the_limit(
    conn: asyncpg.Connection, world: World
) -> None:
    retailer = await make_user(conn, "RETAILER", "Tiny", credit_limit_paisa=30_000)
    v, r = local(world.vendor.phone), local(retailer.phone)
    assert (await run(conn, book(f"2026-06-01,{v},{r},,sale,250,B-1,,"))).ok
    draft = await orders.create_draft(conn, retailer, [line("TEL", 1, "l")])
    with pytest.raises(Exception, match="credit") as refused:
        await orders.confirm(conn, draft.id, retailer, now=datetime.now().astimezone())
    assert refused.value.key == "credit.over_limit"  # type: ignore[attr-defined]


async def test_staff_statements_count_imported_entries_on_their_own_dates(
    conn: asyncpg.Connection, world: World
) -> None:
    v, r = local(world.vendor.phone), local(world.retailer.phone)
    assert (await run(conn, book(f"2026-03-01,{v},{r},,sale,500,B-1,,",
                                 f"2026-05-01,{v},{r},,sale,200,B-2,,"))).ok
    march = await reports.statement(conn, world.retailer.id, happened_at(date(2026, 3, 1)),
                                    happened_at(date(2026, 4, 1)), actor=world.admin)
    assert (march.opening_paisa, [x.amount_paisa for x in march.lines], march.closing_paisa) == (
        0, [50_000], 50_000)
    may = await reports.statement(conn, world.retailer.id, happened_at(date(2026, 4, 1)),
                                  happened_at(date(2026, 6, 1)), actor=world.admin)
    assert (may.opening_paisa, may.closing_paisa) == (50_000, 70_000)
