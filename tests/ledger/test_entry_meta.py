"""Each entry says who stated it, who acknowledged it, when it happened and where it came from:
set by the services that post, kept with the entry, shown by statements."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import asyncpg
import pytest

from ledger import payments, postings, statements
from ledger.postings import Posting
from tests.ledger.conftest import World, line
from tests.ledger.helpers import accepted_order


async def test_an_accepted_order_is_stated_by_the_vendor_and_acknowledged_by_the_retailer(
    conn: asyncpg.Connection, world: World
) -> None:
    order = await accepted_order(conn, world.retailer, world.vendor, [line("TEL", 1, "l")])
    entry = await conn.fetchrow(
        """SELECT stated_by, acknowledged_by, source, happened_at = created_at AS now
           FROM ledger_entries WHERE order_id = $1""", order.id)
    assert tuple(entry) == (world.vendor.id, world.retailer.id, "live", True)


async def test_a_vendors_payment_is_stated_and_not_yet_acknowledged(
    conn: asyncpg.Connection, world: World
) -> None:
    await accepted_order(conn, world.retailer, world.vendor, [line("TEL", 1, "l")])
    paid = await payments.record(conn, retailer_id=world.retailer.id, vendor_id=world.vendor.id,
                                 amount_paisa=10_000, method="cash", actor=world.vendor,
                                 idempotency_key="own")
    assert (paid.entry.stated_by, paid.entry.acknowledged_by) == (world.vendor.id, None)
    # A retailer's claim the vendor confirms: stated by the retailer, acknowledged by the vendor.
    claim = await payments.record(conn, retailer_id=world.retailer.id,
                                  vendor_id=world.vendor.id, amount_paisa=5_000, method="esewa",
                                  actor=world.vendor, idempotency_key="claim",
                                  stated_by=world.retailer.id, acknowledged_by=world.vendor.id)
    assert (claim.entry.stated_by, claim.entry.acknowledged_by) == (
        world.retailer.id, world.vendor.id)
    shown = await statements.statement(conn, world.retailer, retailer_id=world.retailer.id,
                                       vendor_id=world.vendor.id)
    assert [(s.what, s.acknowledged) for s in shown.lines] == [
        ("order", True), ("payment", False), ("payment", True)]


async def test_an_entry_is_never_acknowledged_by_who_stated_it_nor_dated_when_live(
    conn: asyncpg.Connection, world: World
) -> None:
    base = Posting(idempotency_key="adj", retailer_id=world.retailer.id,
                   vendor_id=world.vendor.id, kind="ADJUSTMENT", amount_paisa=100,
                   actor_id=world.admin.id, reason="opening")
    with pytest.raises(ValueError, match="other side"):
        await postings.post(conn, replace(base, acknowledged_by=world.admin.id))
    with pytest.raises(ValueError, match="only imports give a date"):
        await postings.post(conn, replace(
            base, happened_at=datetime(2026, 1, 1, tzinfo=UTC)))
    # The same request with other metadata is another request.
    await postings.post(conn, base)
    with pytest.raises(Exception, match="idempotency") as conflict:
        await postings.post(conn, replace(base, acknowledged_by=world.retailer.id))
    assert conflict.value.key == "idempotency.conflict"  # type: ignore[attr-defined]


async def test_statements_of_a_vendor_cover_only_retailers_they_serve(
    conn: asyncpg.Connection, world: World
) -> None:
    await accepted_order(conn, world.retailer, world.vendor, [line("TEL", 1, "l")])
    found = await statements.statement(conn, world.vendor, retailer_id=world.retailer.id,
                                       end=date.today())
    assert found.vendor is not None and found.vendor.user_id == world.vendor.id
    with pytest.raises(Exception, match="permitted|read") as refused:
        await statements.statement(conn, world.vendor2, retailer_id=world.retailer2.id)
    assert refused.value.key == "auth.not_permitted"  # type: ignore[attr-defined]
