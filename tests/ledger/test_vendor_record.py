"""vendor_record (migration 026): each vendor's refused or expired offers and fulfilled orders,
counted by triggers as they happen, equal the counts recomputed from every offer and order."""

from __future__ import annotations

from datetime import timedelta

import asyncpg

from ledger import assignment, lifecycle, orders, ranking
from ledger.pricing import LineRequest
from tests.ledger.conftest import World

_RECOUNT = """
    SELECT v.user_id AS vendor_id,
           (SELECT count(*) FROM vendor_assignments va
            WHERE va.vendor_id = v.user_id AND va.outcome = ANY($1::text[])) AS failures,
           (SELECT count(*) FROM orders o
            WHERE o.vendor_id = v.user_id AND o.status = ANY($2::text[])) AS fulfilled
    FROM vendors v ORDER BY 1"""


async def record(conn: asyncpg.Connection) -> list[tuple[int, int, int]]:
    rows = await conn.fetch(
        """SELECT v.user_id, COALESCE(r.failures, 0), COALESCE(r.fulfilled, 0)
           FROM vendors v LEFT JOIN vendor_record r ON r.vendor_id = v.user_id ORDER BY 1""")
    return [tuple(r) for r in rows]


async def recount(conn: asyncpg.Connection) -> list[tuple[int, int, int]]:
    rows = await conn.fetch(_RECOUNT, list(ranking.FAILED_OUTCOMES),
                            list(lifecycle.FULFILLED_STATUSES))
    return [tuple(r) for r in rows]


async def test_the_record_follows_offers_and_orders(conn: asyncpg.Connection,
                                                    world: World) -> None:
    assert await record(conn) == await recount(conn)
    # Delivered, then completed: fulfilled once.
    order = await orders.create_draft(conn, world.retailer, [LineRequest("CHINI", 1000)])
    placed = (await orders.confirm(conn, order.id, world.retailer)).order
    first = world.vendor if placed.vendor_id == world.vendor.id else world.vendor2
    second = world.vendor2 if first is world.vendor else world.vendor
    # The first vendor refuses (a failure), the second takes it and delivers.
    await orders.reject(conn, order.id, first, "out of stock")
    offered = (await orders.get(conn, order.id)).vendor_id
    assert offered == second.id
    await orders.accept(conn, order.id, second)
    await orders.dispatch(conn, order.id, second)
    await orders.deliver(conn, order.id, second)
    # Another order's offer expires unanswered (a failure of whoever held it).
    other = await orders.create_draft(conn, world.retailer, [LineRequest("CHAMAL", 1000)])
    held = (await orders.confirm(conn, other.id, world.retailer)).order.vendor_id
    later = await conn.fetchval("SELECT now() + interval '2 hours'")
    await assignment.expire_offers(conn, later, timedelta(minutes=30), limit=10)
    counts = {v: (f, d) for v, f, d in await record(conn)}
    assert counts[first.id][0] >= 1 and counts[second.id][1] == 1
    assert held is not None and counts[held][0] >= 1
    assert await record(conn) == await recount(conn)
