"""Analytics: each series' numbers on a small ledger built through the services, who may read
which, periods and their limits, and the refresh (incremental, idempotent, one at a time)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from ledger import analytics, orders
from ledger.analytics import Period
from ledger.errors import InvalidAnalyticsQuery, NotPermitted
from ledger.users import User
from tests.ledger.conftest import World, line, make_user
from tests.ledger.helpers import accepted_order

# 09:45 in Nepal on 10 Nov 2026 (a Tuesday).
T0 = datetime(2026, 11, 10, 4, 0, tzinfo=UTC)
DAY10, DAY11, DAY12 = date(2026, 11, 10), date(2026, 11, 11), date(2026, 11, 12)
TWO_DAYS = Period(DAY10, DAY11, "day")
MIN = timedelta(minutes=1)


async def _north(conn: asyncpg.Connection) -> User:
    return await make_user(conn, "RETAILER", "Hari Pasal", credit_limit_paisa=5_000_000,
                           address=" Birendranagar ")


async def _town(conn: asyncpg.Connection, world: World) -> User:
    """Day 10: a delivered oil order (accepted at once, 90 min to dispatch, 180 to deliver) and one
    the only oil vendor rejects; day 11 (01:45 in Nepal, still the 10th in UTC): sugar from the
    other vendor, accepted in an hour, and rice the retailer cancels before anyone accepts."""
    north = await _north(conn)
    first = await accepted_order(conn, world.retailer, world.vendor, [line("TEL", 2)], T0)
    await orders.dispatch(conn, first.id, world.vendor, now=T0 + 90 * MIN)
    await orders.deliver(conn, first.id, world.vendor, now=T0 + 270 * MIN)
    second = await orders.create_draft(conn, north, [line("TEL", 1)])
    await orders.confirm(conn, second.id, north, now=T0 + 60 * MIN)
    await orders.reject(conn, second.id, world.vendor, " Out of STOCK ", now=T0 + 70 * MIN)
    third = await orders.create_draft(conn, north, [line("CHINI", 1)])
    at = datetime(2026, 11, 10, 20, 0, tzinfo=UTC)
    done = await orders.confirm(conn, third.id, north, now=at)
    assert done.order.vendor_id == world.vendor2.id
    await orders.accept(conn, third.id, world.vendor2, now=at + 60 * MIN)
    fourth = await orders.create_draft(conn, world.retailer, [line("CHAMAL", 1)])
    await orders.confirm(conn, fourth.id, world.retailer, now=at + 5 * MIN)
    await orders.cancel(conn, fourth.id, world.retailer, "changed my mind", now=at + 10 * MIN)
    return north


async def _tables(conn: asyncpg.Connection) -> dict[str, list[Any]]:
    return {t: [tuple(r) for r in await conn.fetch(f"SELECT * FROM {t} ORDER BY 1, 2, 3, 4")]
            for t in ("analytics_orders", "analytics_offers", "analytics_rejections",
                      "analytics_products", "analytics_retailers", "analytics_overdue",
                      "analytics_scores")}


async def test_order_trend_counts_each_nepal_day_for_the_town_a_vendor_and_an_area(
    conn: asyncpg.Connection, world: World
) -> None:
    await _town(conn, world)
    await analytics.refresh(conn, now=T0 + timedelta(days=2))
    town = await analytics.orders(conn, world.admin, TWO_DAYS)
    assert [(p.start, p.orders, p.value_paisa, p.accepted, p.delivered, p.rejected,
             p.cancelled) for p in town] == [
        (DAY10, 2, 48_000 + 24_000, 1, 1, 1, 0),
        (DAY11, 2, 11_000 + 9_000, 1, 0, 0, 1)]
    mine = await analytics.orders(conn, world.vendor, TWO_DAYS)
    assert [(p.orders, p.value_paisa) for p in mine] == [(1, 48_000), (1, 9_000)]
    assert mine == await analytics.orders(conn, world.operator, TWO_DAYS,
                                          vendor_id=world.vendor.id)
    north = await analytics.orders(conn, world.admin, TWO_DAYS, area="Birendranagar")
    assert [(p.orders, p.value_paisa) for p in north] == [(1, 24_000), (1, 11_000)]
    by_month = await analytics.orders(conn, world.admin, Period(DAY10, DAY11, "month"))
    assert [(p.start, p.orders) for p in by_month] == [(date(2026, 11, 1), 4)]


async def test_days_without_orders_are_zero_points(conn: asyncpg.Connection, world: World) -> None:
    await _town(conn, world)
    await analytics.refresh(conn, now=T0 + timedelta(days=2))
    week = await analytics.orders(conn, world.admin, Period(DAY10 - timedelta(days=3), DAY12,
                                                            "day"))
    assert [p.orders for p in week] == [0, 0, 0, 2, 2, 0]


async def test_products_rank_what_sold_by_value_town_area_and_vendor(
    conn: asyncpg.Connection, world: World
) -> None:
    await _town(conn, world)
    await analytics.refresh(conn, now=T0 + timedelta(days=2))
    top = await analytics.products(conn, world.admin, TWO_DAYS)
    # Billed only: the rejected oil and the cancelled rice did not sell.
    assert [(p.sku, p.orders, p.quantity_milli, p.value_paisa, p.name_ne) for p in top] == [
        ("TEL", 1, 2_000, 48_000, "तेल"), ("CHINI", 1, 1_000, 11_000, "चिनी")]
    assert [p.sku for p in await analytics.products(conn, world.admin, TWO_DAYS,
                                                    area="Birendranagar")] == ["CHINI"]
    assert [p.sku for p in await analytics.products(conn, world.vendor2, TWO_DAYS)] == ["CHINI"]
    assert [p.sku for p in await analytics.products(conn, world.admin, TWO_DAYS,
                                                    limit=1)] == ["TEL"]
    areas = await analytics.areas(conn, world.admin, TWO_DAYS)
    assert [(a.area, a.orders, a.value_paisa, a.top_sku) for a in areas] == [
        ("", 2, 57_000, "TEL"), ("Birendranagar", 2, 35_000, "CHINI")]


async def test_retailer_activity_frequency_and_basket(
    conn: asyncpg.Connection, world: World
) -> None:
    await _town(conn, world)
    await analytics.refresh(conn, now=T0 + timedelta(days=2))
    both = await analytics.retailers(conn, world.admin, Period(DAY10, DAY11, "week"))
    assert len(both) == 1 and both[0].start == date(2026, 11, 8)   # weeks start on Sunday
    point = both[0]
    assert (point.active, point.orders, point.value_paisa, point.lines) == (2, 4, 92_000, 4)
    assert point.orders_per_retailer == 2.0 and point.basket_paisa == 23_000
    mine = await analytics.retailers(conn, world.vendor2, TWO_DAYS)
    assert [(p.active, p.orders) for p in mine] == [(0, 0), (1, 1)]


async def test_fulfilment_acceptance_times_and_rejection_reasons(
    conn: asyncpg.Connection, world: World
) -> None:
    await _town(conn, world)
    await analytics.refresh(conn, now=T0 + timedelta(days=2))
    day10 = (await analytics.fulfilment(conn, world.vendor, TWO_DAYS))[0]
    assert (day10.offered, day10.accepted, day10.rejected, day10.expired) == (2, 1, 1, 0)
    assert day10.acceptance == 0.5
    assert (day10.accept_minutes, day10.dispatch_minutes, day10.deliver_minutes) == (
        0.0, 90.0, 180.0)
    town = await analytics.fulfilment(conn, world.admin, TWO_DAYS)
    assert town[1].offered == 2 and town[1].accept_minutes == 60.0
    assert town[1].dispatch_minutes is None
    reasons = await analytics.rejections(conn, world.admin, TWO_DAYS)
    assert [(r.reason, r.offers) for r in reasons] == [("out of stock", 1)]
    assert await analytics.rejections(conn, world.vendor2, TWO_DAYS) == []


async def test_overdue_by_age_and_score_distribution_are_snapshots_of_the_refresh(
    conn: asyncpg.Connection, world: World
) -> None:
    await _town(conn, world)
    await analytics.refresh(conn, now=T0 + timedelta(days=45))
    town = await analytics.overdue(conn, world.admin)
    assert town.day == date(2026, 12, 25)
    owed = {r.bucket: (r.outstanding_paisa, r.bills, r.retailers) for r in town.rows}
    assert owed == {"not_due": (0, 0, 0), "1-30": (59_000, 2, 2), "31-60": (0, 0, 0),
                    "61-90": (0, 0, 0), "90+": (0, 0, 0)}
    mine = {r.bucket: r.outstanding_paisa for r in
            (await analytics.overdue(conn, world.vendor)).rows}
    assert mine["1-30"] == 48_000
    scores = await analytics.score_distribution(conn, world.admin)
    unscored = scores.rows[0]
    assert (unscored.low, unscored.retailers) == (None, 3)  # 2 of the world and Hari: too new
    assert sum(r.retailers for r in scores.rows) == 3
    assert [r.low for r in scores.rows[1:3]] == [300, 350]
    assert {r.band for r in scores.rows if r.low == 500} == {"D", "E"}
    vendor_scores = await analytics.score_distribution(conn, world.vendor)
    assert vendor_scores.rows[0].retailers == 1           # only the shop with an account


async def test_no_refresh_yet_means_empty_snapshots(conn: asyncpg.Connection, world: World) -> None:
    snap = await analytics.overdue(conn, world.admin)
    assert snap.day is None and all(r.outstanding_paisa == 0 for r in snap.rows)
    assert (await analytics.status(conn)).refreshed_at is None


async def test_shops_that_stopped_ordering(conn: asyncpg.Connection, world: World) -> None:
    for day in range(3):
        await accepted_order(conn, world.retailer2, world.vendor, [line("TEL", 1)],
                             T0 + timedelta(days=day))
    await accepted_order(conn, world.retailer, world.vendor, [line("TEL", 1)], T0)
    # A week on, still within the quiet days: not lapsed.
    await analytics.refresh(conn, now=T0 + timedelta(days=7))
    assert (await analytics.lapsed(conn, world.admin)).rows == ()
    await analytics.refresh(conn, now=T0 + timedelta(days=20))
    quiet = await analytics.lapsed(conn, world.admin)
    assert quiet.day == DAY10 + timedelta(days=20)
    assert [(s.retailer_id, s.orders, s.value_paisa, s.last_day) for s in quiet.rows] == [
        (world.retailer2.id, 3, 72_000, DAY12)]
    assert [s.retailer_id for s in (await analytics.lapsed(conn, world.vendor)).rows] == [
        world.retailer2.id]
    assert (await analytics.lapsed(conn, world.vendor2)).rows == ()


async def test_a_retailer_sees_their_own_purchases_and_no_town_figures(
    conn: asyncpg.Connection, world: World
) -> None:
    north = await _town(conn, world)
    await analytics.refresh(conn, now=T0 + timedelta(days=2))
    own = await analytics.purchases(conn, north, TWO_DAYS)
    assert [(p.orders, p.value_paisa) for p in own] == [(1, 24_000), (1, 11_000)]
    assert own == await analytics.purchases(conn, world.admin, TWO_DAYS, retailer_id=north.id)
    with pytest.raises(NotPermitted):
        await analytics.purchases(conn, north, TWO_DAYS, retailer_id=world.retailer.id)
    with pytest.raises(NotPermitted):
        await analytics.purchases(conn, world.vendor, TWO_DAYS, retailer_id=north.id)
    for series in (analytics.orders, analytics.products, analytics.retailers,
                   analytics.fulfilment, analytics.rejections):
        with pytest.raises(NotPermitted):
            await series(conn, north, TWO_DAYS)  # type: ignore[operator]
    with pytest.raises(NotPermitted):
        await analytics.overdue(conn, north)


async def test_a_vendor_reads_only_their_own(conn: asyncpg.Connection, world: World) -> None:
    await _town(conn, world)
    await analytics.refresh(conn, now=T0 + timedelta(days=2))
    with pytest.raises(NotPermitted):
        await analytics.orders(conn, world.vendor2, TWO_DAYS, vendor_id=world.vendor.id)
    with pytest.raises(NotPermitted):
        await analytics.score_distribution(conn, world.vendor2, vendor_id=world.vendor.id)
    with pytest.raises(NotPermitted):
        await analytics.areas(conn, world.vendor, TWO_DAYS)
    with pytest.raises(InvalidAnalyticsQuery) as refused:
        await analytics.orders(conn, world.vendor, TWO_DAYS, area="Birendranagar")
    assert refused.value.params["problem"] == "town_only"


def test_periods_are_checked() -> None:
    today = date(2026, 12, 1)
    assert analytics.parse_period(None, None, None, today=today) == Period(
        date(2026, 11, 2), today, "day")
    assert analytics.parse_period(None, None, "month", today=today).start == date(2026, 1, 1)
    weeks = analytics.parse_period(None, None, "week", today=today)
    assert weeks.start.isoweekday() == 7 and len(weeks.points()) == 26
    cases = [(("2026-13-01", None, "day"), "not_a_date"), (("1/1/2026", None, "day"),
                                                          "not_a_date"),
             (("2026-11-10", "2026-11-01", "day"), "after_to"),
             (("1999-12-31", "2000-01-02", "day"), "too_early"),
             ((None, "2026-12-02", "day"), "future"),
             ((None, None, "hour"), "unknown"),
             (("2026-01-01", None, "day"), "too_many_points"),
             (("2024-01-01", None, "month"), "too_many_points")]
    for (start, end, grain), problem in cases:
        with pytest.raises(InvalidAnalyticsQuery) as refused:
            analytics.parse_period(start, end, grain, today=today)
        assert refused.value.params["problem"] == problem, (start, end, grain)
    assert len(analytics.parse_period("2025-12-01", None, "week", today=today).points()) == 53
    assert len(analytics.parse_period("2026-09-01", None, "day", today=today).points()) == 92


async def test_limits_are_checked(conn: asyncpg.Connection, world: World) -> None:
    for limit in (0, analytics.MAX_LIMIT + 1):
        with pytest.raises(InvalidAnalyticsQuery):
            await analytics.products(conn, world.admin, TWO_DAYS, limit=limit)


async def test_a_second_refresh_changes_nothing(conn: asyncpg.Connection, world: World) -> None:
    await _town(conn, world)
    later = T0 + timedelta(days=45)
    first = await analytics.refresh(conn, now=later)
    assert first.ran and first.days == (DAY10, DAY11)
    before = await _tables(conn)
    again = await analytics.refresh(conn, now=later)
    assert again.ran
    assert await _tables(conn) == before
    full = await analytics.refresh(conn, now=later, full=True)
    assert full.days == (DAY10, DAY11)
    assert await _tables(conn) == before


async def test_refresh_recomputes_only_the_days_whose_orders_moved(
    conn: asyncpg.Connection, world: World
) -> None:
    await _town(conn, world)
    await analytics.refresh(conn, now=T0 + timedelta(days=2), overlap=0)
    assert (await analytics.refresh(conn, now=T0 + timedelta(days=2), overlap=0)).days == ()
    # A new order on the 12th: only that day is recomputed, and it shows.
    new = await accepted_order(conn, world.retailer, world.vendor, [line("TEL", 3)],
                               T0 + timedelta(days=2))
    done = await analytics.refresh(conn, now=T0 + timedelta(days=2, hours=1), overlap=0)
    assert done.days == (DAY12,)
    three = Period(DAY10, DAY12, "day")
    assert [p.orders for p in await analytics.orders(conn, world.admin, three)] == [2, 2, 1]
    # Dispatching it later changes its day's numbers, not the day it happened.
    await orders.dispatch(conn, new.id, world.vendor, now=T0 + timedelta(days=4))
    done = await analytics.refresh(conn, now=T0 + timedelta(days=4), overlap=0)
    assert done.days == (DAY12,)
    point = (await analytics.fulfilment(conn, world.admin, three))[2]
    assert point.dispatch_minutes == 2 * 24 * 60.0
    status = await analytics.status(conn)
    assert status.refreshed_at == T0 + timedelta(days=4) and status.days == 1


async def test_refresh_when_due_and_one_process_at_a_time(
    pool: asyncpg.Pool, conn: asyncpg.Connection, world: World
) -> None:
    every = timedelta(minutes=10)
    assert (await analytics.refresh(conn, now=T0, every=every)).ran
    assert not (await analytics.refresh(conn, now=T0 + 5 * MIN, every=every)).ran
    async with pool.acquire() as other, other.transaction():
        await other.execute("SELECT pg_advisory_xact_lock($1)", analytics.LOCK_KEY)
        assert not (await analytics.refresh(conn, now=T0 + 20 * MIN, every=every)).ran
    assert (await analytics.refresh(conn, now=T0 + 20 * MIN, every=every)).ran


async def test_a_long_backlog_is_taken_a_few_days_a_run_oldest_first(
    conn: asyncpg.Connection, world: World
) -> None:
    await _town(conn, world)
    first = await analytics.refresh(conn, now=T0 + timedelta(days=2), max_days=1, overlap=0)
    assert (first.days, first.left) == ((DAY10,), 1)
    every = timedelta(hours=1)   # days waiting: not held back by `every`
    second = await analytics.refresh(conn, now=T0 + timedelta(days=2, minutes=1), every=every,
                                     max_days=1, overlap=0)
    assert (second.days, second.left) == ((DAY11,), 0)
    assert [p.orders for p in await analytics.orders(conn, world.admin, TWO_DAYS)] == [2, 2]


async def test_weeks_and_months_are_whole_and_summed_from_their_days(
    conn: asyncpg.Connection, world: World
) -> None:
    await _town(conn, world)
    await accepted_order(conn, world.retailer, world.vendor, [line("TEL", 1)],
                         datetime(2026, 12, 2, 4, tzinfo=UTC))
    await analytics.refresh(conn, now=T0 + timedelta(days=30))
    # Asked from the 11th, the week starts on Sunday the 8th and counts the 10th too.
    weeks = analytics.period(DAY11, date(2026, 12, 5), "week")
    assert weeks.start == date(2026, 11, 8)
    assert [(p.start, p.orders) for p in await analytics.orders(conn, world.admin, weeks)] == [
        (date(2026, 11, 8), 4), (date(2026, 11, 15), 0), (date(2026, 11, 22), 0),
        (date(2026, 11, 29), 1)]
    months = analytics.period(DAY10, date(2026, 12, 5), "month")
    shops = await analytics.retailers(conn, world.admin, months)
    assert [(p.start, p.active, p.orders) for p in shops] == [
        (date(2026, 11, 1), 2, 4), (date(2026, 12, 1), 1, 1)]
    products = await analytics.products(conn, world.admin, months)
    assert [(p.sku, p.orders) for p in products] == [("TEL", 2), ("CHINI", 1)]


async def test_the_score_distribution_is_taken_at_most_hourly(
    conn: asyncpg.Connection, world: World
) -> None:
    await analytics.refresh(conn, now=T0)
    before = (await analytics.score_distribution(conn, world.admin)).rows[0].retailers
    await _north(conn)
    await analytics.refresh(conn, now=T0 + 10 * MIN)
    assert (await analytics.score_distribution(conn, world.admin)).rows[0].retailers == before
    await analytics.refresh(conn, now=T0 + 61 * MIN)
    assert (await analytics.score_distribution(conn, world.admin)).rows[0].retailers == (
        before + 1)
