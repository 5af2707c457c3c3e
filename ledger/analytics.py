"""Analytics: order trends, product performance, retailer behaviour, vendor fulfilment and credit
risk, read from summary tables (migration 024) that `refresh` keeps up to date incrementally.

No page view scans the orders or the ledger: `refresh` (the periodic job, `khaacho analytics
refresh [--full]`) recomputes whole Nepal days whose orders moved since its last run, and takes
the day's snapshot of overdue bills and credit scores; every series below reads only those
tables. Rights: staff read the town (or one vendor); a vendor reads their own orders, products,
offers, retailers and receivables; a retailer reads their own purchases, nothing else.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal, get_args

import asyncpg

from ledger import score_data
from ledger import scores as town_scores
from ledger.actors import Actor, is_staff
from ledger.errors import InvalidAnalyticsQuery, NotPermitted
from ledger.lifecycle import OPEN_BILL_STATUSES
from ledger.order_repo import PAID_SQL
from ledger.score import MAX_SCORE, MIN_SCORE, band
from locales.formats import nepal_time

Grain = Literal["day", "week", "month"]
GRAINS: tuple[Grain, ...] = get_args(Grain)
# The most points a series returns, per grain: three months of days, a year of weeks, two
# years of months. A longer period asks for a coarser grain.
MAX_POINTS: dict[Grain, int] = {"day": 92, "week": 53, "month": 24}
EARLIEST = date(2000, 1, 1)
MAX_LIMIT = 50
# A day is recomputed whole, so days go in batches: bounds what one statement touches.
DAYS_PER_BATCH = 31
# The periodic job recomputes at most this many days a run (a first refresh of a year of orders
# takes a few runs; `khaacho analytics refresh` takes them all at once).
JOB_MAX_DAYS = 14
# Transaction ids are handed out before their transaction commits: a refresh re-reads this many
# ids below its watermark, so a change that committed after the last refresh looked is seen.
WATERMARK_OVERLAP = 10_000
# Two processes never refresh at once (the loser skips the round).
LOCK_KEY = 0x6B68_616E_616C  # "khanal"
ZONE = "Asia/Kathmandu"
BUCKETS = ("not_due", "1-30", "31-60", "61-90", "90+")
SCORE_STEP = 50
# Scores read the whole ledger (`ledger.scores.town`): their distribution is taken at most this
# often (and on the first refresh of a Nepal day), not at every refresh.
SCORES_EVERY = timedelta(hours=1)
# "Stopped ordering": at least LAPSED_MIN_ORDERS orders in the LAPSED_WINDOW_DAYS before the
# last LAPSED_QUIET_DAYS, and none since.
LAPSED_QUIET_DAYS = 14
LAPSED_WINDOW_DAYS = 60
LAPSED_MIN_ORDERS = 3

SERIES = ("orders", "products", "areas", "retailers", "lapsed", "fulfilment", "rejections",
          "overdue", "scores", "purchases")


# Periods --------------------------------------------------------------------------------------

def bucket_start(day: date, grain: Grain) -> date:
    """The first day of the point `day` falls in: itself, its week (Sunday to Saturday, as
    weeks run in Nepal) or its month."""
    if grain == "day":
        return day
    if grain == "week":
        return day - timedelta(days=day.isoweekday() % 7)
    return day.replace(day=1)


def _next(start: date, grain: Grain) -> date:
    if grain == "day":
        return start + timedelta(days=1)
    if grain == "week":
        return start + timedelta(days=7)
    return (start.replace(day=28) + timedelta(days=4)).replace(day=1)


@dataclass(frozen=True)
class Period:
    """Nepal days `start` to `end`, both included, in points of `grain`; the start moves back
    to its week's (Sunday) or month's first day."""

    start: date
    end: date
    grain: Grain

    def __post_init__(self) -> None:
        # Points are whole weeks and months: the start is its bucket's first day.
        object.__setattr__(self, "start", bucket_start(self.start, self.grain))

    def points(self) -> list[date]:
        found, at = [], bucket_start(self.start, self.grain)
        while at <= self.end:
            found.append(at)
            at = _next(at, self.grain)
        return found


def period(start: date, end: date, grain: str = "day", *, today: date | None = None) -> Period:
    """A checked period: a known grain, start not after end, not before 2000 nor after today,
    and at most MAX_POINTS[grain] points. Points are whole weeks or months: the start moves back
    to its week's or month's first day."""
    if grain not in GRAINS:
        raise InvalidAnalyticsQuery(field="grain", problem="unknown", value=grain)
    g: Grain = grain
    if start > end:
        raise InvalidAnalyticsQuery(field="from", problem="after_to", value=start.isoformat())
    if start < EARLIEST:
        raise InvalidAnalyticsQuery(field="from", problem="too_early", value=start.isoformat())
    if today is not None and end > today:
        raise InvalidAnalyticsQuery(field="to", problem="future", value=end.isoformat())
    chosen = Period(start, end, g)
    if len(chosen.points()) > MAX_POINTS[g]:
        raise InvalidAnalyticsQuery(field="grain", problem="too_many_points", value=grain,
                                    max=MAX_POINTS[g])
    return chosen


def default_period(today: date) -> Period:
    """The last 30 days, by day."""
    return Period(today - timedelta(days=29), today, "day")


def parse_period(
    start: str | None, end: str | None, grain: str | None, *, today: date
) -> Period:
    """A period from outside input (query strings): dates YYYY-MM-DD, either may be left out
    (to: today; from: 30 days, 26 weeks or 12 months before `to`, by grain)."""
    g = grain or "day"
    if g not in GRAINS:
        raise InvalidAnalyticsQuery(field="grain", problem="unknown", value=g[:20])
    last = _date("to", end) if end else today
    if start:
        first = _date("from", start)
    elif g == "day":
        first = last - timedelta(days=29)
    elif g == "week":
        first = bucket_start(last, "week") - timedelta(weeks=25)
    else:  # twelve whole months, this one included
        month = last.year * 12 + last.month - 1 - 11
        first = date(month // 12, month % 12 + 1, 1)
    return period(first, last, g, today=today)


def _date(field: str, text: str) -> date:
    try:
        if len(text) != 10:
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidAnalyticsQuery(field=field, problem="not_a_date", value=text[:20]) from None


def _limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidAnalyticsQuery(field="limit", problem="out_of_range", value=str(limit),
                                    max=MAX_LIMIT)
    return limit


# Rights ---------------------------------------------------------------------------------------

def scope(actor: Actor, vendor_id: int | None = None) -> int | None:
    """Whose numbers `actor` reads: None for the town (staff without a vendor), else a vendor's
    id. A vendor reads only their own; retailers read no town or vendor series."""
    if is_staff(actor):
        return vendor_id
    if actor.role == "VENDOR" and vendor_id in (None, actor.id):
        return actor.id
    raise NotPermitted(action="analytics.read", role=actor.role)


class _Where:
    """A WHERE clause whose NULL filters stay index conditions (`IS NULL`, never `IS NOT
    DISTINCT FROM`, which no index serves)."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.args: list[Any] = []

    def arg(self, value: Any) -> str:
        self.args.append(value)
        return f"${len(self.args)}"

    def eq(self, column: str, value: Any) -> _Where:
        self.parts.append(f"{column} IS NULL" if value is None
                          else f"{column} = {self.arg(value)}")
        return self

    def days(self, chosen: Period, prefix: str = "") -> _Where:
        """The period's points: rows of its grain whose first day is in it."""
        self.parts.append(f"{prefix}grain = {self.arg(chosen.grain)}")
        self.parts.append(f"{prefix}day BETWEEN {self.arg(chosen.start)} "
                          f"AND {self.arg(chosen.end)}")
        return self

    def sql(self) -> str:
        return " AND ".join(self.parts) or "true"


# Order trends ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class OrderPoint:
    start: date
    orders: int
    value_paisa: int
    accepted: int
    delivered: int
    rejected: int     # no vendor would take it
    cancelled: int


async def orders(
    conn: asyncpg.Connection, actor: Actor, chosen: Period, *, vendor_id: int | None = None,
    area: str | None = None,
) -> list[OrderPoint]:
    """Orders placed and their value per point; with `area`, the town's orders from that area's
    shops (staff only: vendors' rows are not split by area)."""
    who = scope(actor, vendor_id)
    if area is not None and who is not None:
        raise InvalidAnalyticsQuery(field="area", problem="town_only", value=area[:40])
    w = _Where().eq("vendor_id", who).eq("area", area).days(chosen)
    rows = await conn.fetch(
        f"""SELECT day AS start, sum(orders) AS orders,
                   sum(value_paisa) AS value, sum(accepted) AS accepted,
                   sum(delivered) AS delivered, sum(rejected) AS rejected,
                   sum(cancelled) AS cancelled
            FROM analytics_orders WHERE {w.sql()} GROUP BY day""", *w.args)
    found = {r["start"]: r for r in rows}
    return [OrderPoint(p, *(int(found[p][k]) if p in found else 0 for k in (
        "orders", "value", "accepted", "delivered", "rejected", "cancelled")))
        for p in chosen.points()]


# Products -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ProductRow:
    sku: str
    name_en: str
    name_ne: str
    unit: str
    orders: int
    quantity_milli: int
    value_paisa: int


async def products(
    conn: asyncpg.Connection, actor: Actor, chosen: Period, *, vendor_id: int | None = None,
    area: str | None = None, limit: int = 10,
) -> list[ProductRow]:
    """The products that sold most by value (billed orders) over the period, best first; with
    `area`, in that area's shops (town only)."""
    who = scope(actor, vendor_id)
    if area is not None and who is not None:
        raise InvalidAnalyticsQuery(field="area", problem="town_only", value=area[:40])
    w = _Where().eq("a.vendor_id", who).eq("a.area", area).days(chosen, "a.")
    rows = await conn.fetch(
        f"""SELECT a.sku, p.name_en, p.name_ne, p.unit, sum(a.orders) AS orders,
                   sum(a.quantity_milli) AS quantity, sum(a.value_paisa) AS value
            FROM analytics_products a JOIN products p ON p.sku = a.sku
            WHERE {w.sql()}
            GROUP BY a.sku, p.name_en, p.name_ne, p.unit
            ORDER BY value DESC, a.sku LIMIT {w.arg(_limit(limit))}""", *w.args)
    return [ProductRow(r["sku"], r["name_en"], r["name_ne"], r["unit"], int(r["orders"]),
                       int(r["quantity"]), int(r["value"])) for r in rows]


@dataclass(frozen=True)
class AreaRow:
    area: str             # '' : shops that gave no area
    orders: int
    value_paisa: int
    top_sku: str | None   # the area's best-selling product by value


async def areas(
    conn: asyncpg.Connection, actor: Actor, chosen: Period, *, limit: int = 20
) -> list[AreaRow]:
    """The town's orders and value per area over the period, biggest first (staff only)."""
    if scope(actor) is not None:
        raise NotPermitted(action="analytics.areas", role=actor.role)
    w = _Where().days(chosen)
    rows = await conn.fetch(
        f"""WITH a AS (SELECT area, sum(orders) AS orders, sum(value_paisa) AS value
                       FROM analytics_orders
                       WHERE vendor_id IS NULL AND area IS NOT NULL AND {w.sql()}
                       GROUP BY area ORDER BY value DESC, area LIMIT {w.arg(_limit(limit))}),
                sold AS (SELECT area, sku, sum(value_paisa) AS value FROM analytics_products
                         WHERE vendor_id IS NULL AND area IS NOT NULL AND {w.sql()}
                         GROUP BY area, sku),
                top AS (SELECT DISTINCT ON (area) area, sku FROM sold
                        ORDER BY area, value DESC, sku)
            SELECT a.*, top.sku AS top FROM a LEFT JOIN top USING (area)
            ORDER BY a.value DESC, a.area""", *w.args)
    return [AreaRow(r["area"], int(r["orders"]), int(r["value"]), r["top"]) for r in rows]


# Retailer behaviour ---------------------------------------------------------------------------

@dataclass(frozen=True)
class RetailerPoint:
    start: date
    active: int           # retailers who placed at least one order
    orders: int
    value_paisa: int
    lines: int

    @property
    def orders_per_retailer(self) -> float:
        return self.orders / self.active if self.active else 0.0

    @property
    def basket_paisa(self) -> int:
        return self.value_paisa // self.orders if self.orders else 0

    @property
    def lines_per_order(self) -> float:
        return self.lines / self.orders if self.orders else 0.0


async def retailers(
    conn: asyncpg.Connection, actor: Actor, chosen: Period, *, vendor_id: int | None = None
) -> list[RetailerPoint]:
    """How many shops ordered per point, how often and how much (basket size)."""
    w = _Where().eq("vendor_id", scope(actor, vendor_id)).days(chosen)
    rows = await conn.fetch(
        f"""SELECT day AS start, active, orders, value_paisa AS value, lines
            FROM analytics_activity WHERE {w.sql()}""", *w.args)
    found = {r["start"]: r for r in rows}
    return [RetailerPoint(p, *(int(found[p][k]) if p in found else 0 for k in (
        "active", "orders", "value", "lines"))) for p in chosen.points()]


@dataclass(frozen=True)
class Lapsed:
    retailer_id: int
    shop_name: str
    phone: str | None
    area: str
    last_day: date
    orders: int           # in the window before they went quiet
    value_paisa: int


async def lapsed(
    conn: asyncpg.Connection, actor: Actor, *, vendor_id: int | None = None,
    limit: int = MAX_LIMIT,
) -> Snapshot:
    """Shops that stopped ordering (from the town, or from this vendor) as of the latest
    refresh: at least LAPSED_MIN_ORDERS orders in the LAPSED_WINDOW_DAYS before the last
    LAPSED_QUIET_DAYS, and none since; those who bought most first. Rows are `Lapsed`."""
    w = _Where().eq("a.vendor_id", scope(actor, vendor_id))
    day = await conn.fetchval(f"SELECT max(day) FROM analytics_lapsed a WHERE {w.sql()}",
                              *w.args)
    if day is None:
        return Snapshot(None, ())
    rows = await conn.fetch(
        f"""SELECT a.retailer_id, s.shop_name, u.phone, trim(s.address) AS area, a.last_day,
                   a.orders, a.value_paisa
            FROM analytics_lapsed a JOIN retailers s ON s.user_id = a.retailer_id
            JOIN users u ON u.id = a.retailer_id
            WHERE {w.sql()} AND a.day = {w.arg(day)}
            ORDER BY a.value_paisa DESC, a.retailer_id LIMIT {w.arg(_limit(limit))}""", *w.args)
    return Snapshot(day, tuple(Lapsed(r["retailer_id"], r["shop_name"], r["phone"], r["area"],
                                      r["last_day"], int(r["orders"]), int(r["value_paisa"]))
                               for r in rows))


# Vendor fulfilment ----------------------------------------------------------------------------

@dataclass(frozen=True)
class FulfilmentPoint:
    start: date
    offered: int
    accepted: int
    rejected: int
    expired: int
    accept_minutes: float | None     # placed -> accepted, on average
    dispatch_minutes: float | None   # accepted -> dispatched
    deliver_minutes: float | None    # dispatched -> delivered

    @property
    def acceptance(self) -> float | None:
        """Offers accepted out of offers made (None: none made)."""
        return self.accepted / self.offered if self.offered else None


def _minutes(seconds: int, count: int) -> float | None:
    return round(seconds / count / 60, 1) if count else None


async def fulfilment(
    conn: asyncpg.Connection, actor: Actor, chosen: Period, *, vendor_id: int | None = None
) -> list[FulfilmentPoint]:
    """Offers made and how they ended, and the average time to accept, dispatch and deliver."""
    who = scope(actor, vendor_id)
    w = _Where().eq("vendor_id", who).days(chosen)
    offers = {r["start"]: r for r in await conn.fetch(
        f"""SELECT day AS start, sum(offered) AS offered,
                   sum(accepted) AS accepted, sum(rejected) AS rejected, sum(expired) AS expired
            FROM analytics_offers WHERE {w.sql()} GROUP BY day""", *w.args)}
    t = _Where().eq("vendor_id", who).eq("area", None).days(chosen)
    times = {r["start"]: r for r in await conn.fetch(
        f"""SELECT day AS start,
                   sum(accepted) AS accepted, sum(accept_seconds) AS accept_s,
                   sum(dispatched) AS dispatched, sum(dispatch_seconds) AS dispatch_s,
                   sum(delivered) AS delivered, sum(deliver_seconds) AS deliver_s
            FROM analytics_orders WHERE {t.sql()} GROUP BY day""", *t.args)}
    found = []
    for p in chosen.points():
        o, m = offers.get(p), times.get(p)
        found.append(FulfilmentPoint(
            p, *(int(o[k]) if o else 0 for k in ("offered", "accepted", "rejected", "expired")),
            *((_minutes(int(m[s]), int(m[n])) if m else None) for s, n in (
                ("accept_s", "accepted"), ("dispatch_s", "dispatched"),
                ("deliver_s", "delivered")))))
    return found


@dataclass(frozen=True)
class ReasonRow:
    reason: str           # '' : no reason given
    offers: int


async def rejections(
    conn: asyncpg.Connection, actor: Actor, chosen: Period, *, vendor_id: int | None = None,
    limit: int = 10,
) -> list[ReasonRow]:
    """Why vendors turned orders down over the period, the commonest first."""
    w = _Where().eq("vendor_id", scope(actor, vendor_id)).days(chosen)
    rows = await conn.fetch(
        f"""SELECT reason, sum(offers) AS offers FROM analytics_rejections WHERE {w.sql()}
            GROUP BY reason ORDER BY offers DESC, reason LIMIT {w.arg(_limit(limit))}""",
        *w.args)
    return [ReasonRow(r["reason"], int(r["offers"])) for r in rows]


# Credit risk (snapshots) ----------------------------------------------------------------------

@dataclass(frozen=True)
class OverdueRow:
    bucket: str           # BUCKETS: not yet due, then days past the due date
    outstanding_paisa: int
    bills: int
    retailers: int


@dataclass(frozen=True)
class Snapshot:
    day: date | None      # the Nepal day of the refresh it is from; None: never refreshed
    rows: tuple[Any, ...]


async def overdue(
    conn: asyncpg.Connection, actor: Actor, *, vendor_id: int | None = None
) -> Snapshot:
    """What is owed by days past its due date, as of the latest refresh."""
    w = _Where().eq("vendor_id", scope(actor, vendor_id))
    day = await conn.fetchval(f"SELECT max(day) FROM analytics_overdue WHERE {w.sql()}", *w.args)
    rows = {} if day is None else {r["bucket"]: r for r in await conn.fetch(
        f"""SELECT bucket, outstanding_paisa, bills, retailers FROM analytics_overdue
            WHERE {w.sql()} AND day = {w.arg(day)}""", *w.args)}
    return Snapshot(day, tuple(OverdueRow(b, *(int(rows[b][k]) if b in rows else 0 for k in (
        "outstanding_paisa", "bills", "retailers"))) for b in BUCKETS))


@dataclass(frozen=True)
class ScoreRow:
    low: int | None       # scores low .. low+49; None: no score yet (too little history)
    band: str | None
    retailers: int


async def score_distribution(
    conn: asyncpg.Connection, actor: Actor, *, vendor_id: int | None = None
) -> Snapshot:
    """Retailers per 50 points of credit score (and those with no score yet), as of the latest
    refresh: the town's, or a vendor's own retailers'."""
    w = _Where().eq("vendor_id", scope(actor, vendor_id))
    day = await conn.fetchval(f"SELECT max(day) FROM analytics_scores WHERE {w.sql()}", *w.args)
    found = {} if day is None else {(r["low"], r["band"]): int(r["retailers"]) for r in
                                    await conn.fetch(
        f"""SELECT low, band, retailers FROM analytics_scores
            WHERE {w.sql()} AND day = {w.arg(day)}""", *w.args)}
    rows = [ScoreRow(None, None, found.get((-1, ""), 0))]
    # A 50-point step may straddle two bands (D starts at 520): one row per (step, band).
    for low in range(MIN_SCORE, MAX_SCORE + 1, SCORE_STEP):
        bands = sorted({band(low), band(min(low + SCORE_STEP - 1, MAX_SCORE))})
        rows.extend(ScoreRow(low, b, found.get((low, b), 0)) for b in bands)
    return Snapshot(day, tuple(rows))


# A retailer's own purchases --------------------------------------------------------------------

@dataclass(frozen=True)
class PurchasePoint:
    start: date
    orders: int
    value_paisa: int


async def purchases(
    conn: asyncpg.Connection, actor: Actor, chosen: Period, *, retailer_id: int | None = None
) -> list[PurchasePoint]:
    """A retailer's own orders and their value per point: what a shop wants to see of itself
    (the town's figures are not theirs to read). Staff may ask for any retailer."""
    if actor.role == "RETAILER" and retailer_id in (None, actor.id):
        whose = actor.id
    elif is_staff(actor) and retailer_id is not None:
        whose = retailer_id
    else:
        raise NotPermitted(action="analytics.purchases", role=actor.role)
    w = _Where().eq("vendor_id", None).eq("retailer_id", whose).days(chosen)
    rows = await conn.fetch(
        f"""SELECT day AS start, sum(orders) AS orders,
                   sum(value_paisa) AS value
            FROM analytics_retailers WHERE {w.sql()} GROUP BY day""", *w.args)
    found = {r["start"]: r for r in rows}
    return [PurchasePoint(p, int(found[p]["orders"]) if p in found else 0,
                          int(found[p]["value"]) if p in found else 0) for p in chosen.points()]


# Refresh --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RefreshStatus:
    refreshed_at: datetime | None
    days: int
    seconds: float


async def status(conn: asyncpg.Connection) -> RefreshStatus:
    """When the numbers were last refreshed (every reader may know how fresh they are)."""
    row = await conn.fetchrow("SELECT refreshed_at, days, seconds FROM analytics_refresh")
    assert row is not None, "migration 024 inserts the refresh row"
    return RefreshStatus(row["refreshed_at"], row["days"], float(row["seconds"]))


@dataclass(frozen=True)
class Refreshed:
    ran: bool                 # False: another process was refreshing, or it was not due
    days: tuple[date, ...]    # the Nepal days recomputed
    seconds: float
    left: int = 0             # changed days still waiting for the next run
    recompute_seconds: float = 0.0  # of `seconds`, the days (the rest: today's snapshots)


# The orders placed on the days in $1 (a date[]), with their Nepal day and area. Index range
# per day on orders_confirmed.
_PLACED = f"""
    SELECT d.day, o.id, o.vendor_id, o.retailer_id, trim(r.address) AS area, o.status,
           o.total_paisa, o.confirmed_at, o.accepted_at, o.dispatched_at, o.delivered_at
    FROM unnest($1::date[]) AS d (day)
    JOIN orders o ON o.confirmed_at >= d.day::timestamp AT TIME ZONE '{ZONE}'
                 AND o.confirmed_at < (d.day + 1)::timestamp AT TIME ZONE '{ZONE}'
    JOIN retailers r ON r.user_id = o.retailer_id
    WHERE o.source = 'live'"""

_SECONDS = "COALESCE(sum(extract(epoch FROM {b} - {a})) FILTER (WHERE {b} IS NOT NULL), 0)::bigint"

# $2 REJECTED, $3 CANCELLED (statuses are parameters: ledger/lifecycle.py spells them).
_RECOMPUTE_ORDERS = f"""
    INSERT INTO analytics_orders (day, vendor_id, area, orders, value_paisa, accepted,
        dispatched, delivered, rejected, cancelled, accept_seconds, dispatch_seconds,
        deliver_seconds)
    SELECT day, vendor_id, area, count(*), sum(total_paisa), count(accepted_at),
           count(dispatched_at), count(delivered_at),
           count(*) FILTER (WHERE status = $2), count(*) FILTER (WHERE status = $3),
           {_SECONDS.format(a="confirmed_at", b="accepted_at")},
           {_SECONDS.format(a="accepted_at", b="dispatched_at")},
           {_SECONDS.format(a="dispatched_at", b="delivered_at")}
    FROM ({_PLACED}) placed
    GROUP BY GROUPING SETS ((day), (day, vendor_id), (day, area))
    HAVING GROUPING(vendor_id) = 1 OR vendor_id IS NOT NULL"""

# $2 ACCEPTED, $3 REJECTED, $4 EXPIRED (vendor_assignments outcomes).
_RECOMPUTE_OFFERS = f"""
    INSERT INTO analytics_offers (day, vendor_id, offered, accepted, rejected, expired,
        answered, answer_seconds)
    SELECT placed.day, va.vendor_id, count(*), count(*) FILTER (WHERE va.outcome = $2),
           count(*) FILTER (WHERE va.outcome = $3), count(*) FILTER (WHERE va.outcome = $4),
           count(*) FILTER (WHERE va.outcome IN ($2, $3)),
           COALESCE(sum(extract(epoch FROM va.answered_at - va.offered_at))
                    FILTER (WHERE va.outcome IN ($2, $3)), 0)::bigint
    FROM ({_PLACED}) placed JOIN vendor_assignments va ON va.order_id = placed.id
    GROUP BY GROUPING SETS ((placed.day), (placed.day, va.vendor_id))"""

_RECOMPUTE_REJECTIONS = f"""
    INSERT INTO analytics_rejections (day, vendor_id, reason, offers)
    SELECT day, vendor_id, reason, count(*)
    FROM (SELECT placed.day, va.vendor_id, left(lower(btrim(va.reason)), 80) AS reason
          FROM ({_PLACED}) placed JOIN vendor_assignments va ON va.order_id = placed.id
          WHERE va.outcome = $2) rejected
    GROUP BY GROUPING SETS ((day, reason), (day, vendor_id, reason))"""

# Billed: accepted at some point, not cancelled since. $2 CANCELLED.
_RECOMPUTE_PRODUCTS = f"""
    INSERT INTO analytics_products (day, vendor_id, area, sku, orders, quantity_milli,
        value_paisa)
    SELECT placed.day, placed.vendor_id, placed.area, l.sku, count(*), sum(l.quantity_milli),
           sum(l.line_total_paisa)
    FROM ({_PLACED}) placed JOIN order_lines l ON l.order_id = placed.id
    WHERE placed.accepted_at IS NOT NULL AND placed.status <> $2
    GROUP BY GROUPING SETS ((placed.day, l.sku), (placed.day, placed.vendor_id, l.sku),
                            (placed.day, placed.area, l.sku))"""

_RECOMPUTE_RETAILERS = f"""
    INSERT INTO analytics_retailers (day, vendor_id, retailer_id, orders, value_paisa, lines)
    SELECT day, vendor_id, retailer_id, count(*), sum(total_paisa), sum(lines)
    FROM (SELECT placed.*, (SELECT count(*) FROM order_lines l WHERE l.order_id = placed.id)
                 AS lines
          FROM ({_PLACED}) placed) counted
    GROUP BY GROUPING SETS ((day, retailer_id), (day, vendor_id, retailer_id))
    HAVING GROUPING(vendor_id) = 1 OR vendor_id IS NOT NULL"""

# Each table's key columns (besides grain and day) and summed columns: a week's or month's row
# is the sum of its days' rows with the same key.
_TABLES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "analytics_orders": (("vendor_id", "area"), (
        "orders", "value_paisa", "accepted", "dispatched", "delivered", "rejected", "cancelled",
        "accept_seconds", "dispatch_seconds", "deliver_seconds")),
    "analytics_offers": (("vendor_id",), (
        "offered", "accepted", "rejected", "expired", "answered", "answer_seconds")),
    "analytics_rejections": (("vendor_id", "reason"), ("offers",)),
    "analytics_products": (("vendor_id", "area", "sku"), ("orders", "quantity_milli",
                                                          "value_paisa")),
    "analytics_retailers": (("vendor_id", "retailer_id"), ("orders", "value_paisa", "lines")),
}
_BUCKET: dict[Grain, str] = {"week": "day - extract(dow FROM day)::int",
                             "month": "date_trunc('month', day)::date"}


async def _recompute(conn: asyncpg.Connection, days: Sequence[date]) -> None:
    """Replace every summary row of these Nepal days by what the orders say now, then the rows
    of the weeks and months they fall in."""
    for table in _TABLES:
        await conn.execute(f"DELETE FROM {table} WHERE grain = 'day' AND day = ANY($1::date[])",
                           list(days))
    await conn.execute(_RECOMPUTE_ORDERS, list(days), "REJECTED", "CANCELLED")
    await conn.execute(_RECOMPUTE_OFFERS, list(days), "ACCEPTED", "REJECTED", "EXPIRED")
    await conn.execute(_RECOMPUTE_REJECTIONS, list(days), "REJECTED")
    await conn.execute(_RECOMPUTE_PRODUCTS, list(days), "CANCELLED")
    await conn.execute(_RECOMPUTE_RETAILERS, list(days))
    for grain, bucket in _BUCKET.items():
        starts = sorted({bucket_start(d, grain) for d in days})
        low, high = starts[0], _next(starts[-1], grain)
        for table, (keys, sums) in _TABLES.items():
            key = ", ".join(keys)
            await conn.execute(
                f"DELETE FROM {table} WHERE grain = $1 AND day = ANY($2::date[])", grain, starts)
            await conn.execute(
                f"""INSERT INTO {table} (grain, day, {key}, {", ".join(sums)})
                    SELECT $1, {bucket} AS bucket, {key},
                           {", ".join(f"sum({c})" for c in sums)}
                    FROM {table}
                    WHERE grain = 'day' AND day >= $2 AND day < $3
                      AND {bucket} = ANY($4::date[])
                    GROUP BY bucket, {key}""", grain, low, high, starts)
    daily: Grain = "day"
    buckets = [(daily, list(days))] + [
        (g, sorted({bucket_start(d, g) for d in days})) for g in _BUCKET]
    for grain, starts in buckets:
        await conn.execute("DELETE FROM analytics_activity WHERE grain = $1 AND day = ANY($2)",
                           grain, starts)
        await conn.execute(
            """INSERT INTO analytics_activity (grain, day, vendor_id, active, orders,
                                               value_paisa, lines)
               SELECT grain, day, vendor_id, count(*), sum(orders), sum(value_paisa), sum(lines)
               FROM analytics_retailers WHERE grain = $1 AND day = ANY($2::date[])
               GROUP BY grain, day, vendor_id""", grain, starts)


async def _snapshot(conn: asyncpg.Connection, now: datetime, scores_at: datetime | None) -> bool:
    """Today's shops that stopped ordering, overdue-by-age and (at most every SCORES_EVERY, or
    on a new day) score distribution, as of `now`; whether the scores were taken."""
    today = nepal_time(now).date()
    quiet = today - timedelta(days=LAPSED_QUIET_DAYS - 1)
    await conn.execute("DELETE FROM analytics_lapsed WHERE day = $1", today)
    await conn.execute(
        """INSERT INTO analytics_lapsed (day, vendor_id, retailer_id, last_day, orders,
                                         value_paisa)
           SELECT $1::date, vendor_id, retailer_id, max(day), sum(orders), sum(value_paisa)
           FROM analytics_retailers
           WHERE grain = 'day' AND day BETWEEN $2 AND $1
           GROUP BY vendor_id, retailer_id
           HAVING max(day) < $3 AND sum(orders) >= $4""",
        today, quiet - timedelta(days=LAPSED_WINDOW_DAYS), quiet, LAPSED_MIN_ORDERS)
    await conn.execute("DELETE FROM analytics_overdue WHERE day = $1", today)
    await conn.execute(
        f"""INSERT INTO analytics_overdue (day, vendor_id, bucket, outstanding_paisa, bills,
                                           retailers)
            WITH owed AS (
                SELECT o.vendor_id, o.retailer_id, o.due_at,
                       o.total_paisa - {PAID_SQL} AS outstanding
                FROM orders o WHERE o.status = ANY($2::text[])),
            aged AS (
                SELECT vendor_id, retailer_id, outstanding,
                       CASE WHEN due_at >= $3 THEN 'not_due'
                            WHEN $3 - due_at <= interval '30 days' THEN '1-30'
                            WHEN $3 - due_at <= interval '60 days' THEN '31-60'
                            WHEN $3 - due_at <= interval '90 days' THEN '61-90'
                            ELSE '90+' END AS bucket
                FROM owed WHERE outstanding > 0)
            SELECT $1::date, vendor_id, bucket, sum(outstanding), count(*),
                   count(DISTINCT retailer_id)
            FROM aged GROUP BY GROUPING SETS ((bucket), (vendor_id, bucket))""",
        today, list(OPEN_BILL_STATUSES), now)
    if (scores_at is not None and nepal_time(scores_at).date() == today
            and timedelta(0) <= now - scores_at < SCORES_EVERY):
        return False
    await conn.execute("DELETE FROM analytics_scores WHERE day = $1", today)
    scored = {s.retailer_id: s.score for s in await town_scores.town(conn, None, as_of=now)}
    # Each shop's settled record as of now, so a shop's own score reads what changed since.
    await score_data.keep(conn, now)
    counts: Counter[tuple[int | None, int, str]] = Counter()
    accounts = await conn.fetch("SELECT retailer_id, vendor_id FROM ledger_accounts")
    steps = {rid: ((-1, "") if s.score is None
                   else (s.score - s.score % SCORE_STEP, s.band or ""))
             for rid, s in scored.items()}
    for low, band_ in steps.values():
        counts[(None, low, band_)] += 1
    for a in accounts:
        if a["retailer_id"] in steps:
            counts[(a["vendor_id"], *steps[a["retailer_id"]])] += 1
    if counts:
        await conn.executemany(
            """INSERT INTO analytics_scores (day, vendor_id, low, band, retailers)
               VALUES ($1, $2, $3, $4, $5)""",
            [(today, v, low, b, n) for (v, low, b), n in sorted(
                counts.items(), key=lambda kv: (kv[0][0] or 0, kv[0][1], kv[0][2]))])
    return True


async def refresh(
    conn: asyncpg.Connection, *, full: bool = False, now: datetime | None = None,
    every: timedelta | None = None, overlap: int = WATERMARK_OVERLAP,
    max_days: int | None = None,
) -> Refreshed:
    """Bring the summary tables up to date: recompute the Nepal days whose orders moved since
    the last run (every day with `full`), at most `max_days` of them, the oldest first (the
    rest wait in analytics_pending for the next run), then take today's snapshots. With
    `every`, only when the last refresh is at least that old (or days are waiting). One process
    at a time (a try-lock: the loser skips); one transaction, so a reader sees the old numbers
    or the new, never half; run twice, the second changes nothing."""
    started = time.perf_counter()
    async with conn.transaction():
        if not await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", LOCK_KEY):
            return Refreshed(False, (), 0.0)
        at: datetime = now if now is not None else await conn.fetchval("SELECT now()")
        state = await conn.fetchrow(
            "SELECT last_transition_id, refreshed_at, scores_at FROM analytics_refresh FOR UPDATE")
        assert state is not None, "migration 024 inserts the refresh row"
        waiting = await conn.fetchval("SELECT EXISTS (SELECT 1 FROM analytics_pending)")
        if (every is not None and not full and not waiting and state["refreshed_at"] is not None
                and at - state["refreshed_at"] < every):
            return Refreshed(False, (), 0.0)
        top = int(await conn.fetchval("SELECT COALESCE(max(id), 0) FROM order_transitions"))
        if full:
            for table in _TABLES:
                await conn.execute(f"DELETE FROM {table}")
            await conn.execute(
                f"""INSERT INTO analytics_pending (day)
                    SELECT DISTINCT (confirmed_at AT TIME ZONE '{ZONE}')::date FROM orders
                    WHERE confirmed_at IS NOT NULL
                    ON CONFLICT (day) DO NOTHING""")
        else:
            await conn.execute(
                f"""INSERT INTO analytics_pending (day)
                    SELECT DISTINCT (o.confirmed_at AT TIME ZONE '{ZONE}')::date
                    FROM order_transitions t JOIN orders o ON o.id = t.order_id
                    WHERE t.id > $1 AND o.confirmed_at IS NOT NULL
                    ON CONFLICT (day) DO NOTHING""",
                max(0, int(state["last_transition_id"]) - overlap))
        taken = await conn.fetch(
            "DELETE FROM analytics_pending WHERE day IN (SELECT day FROM analytics_pending "
            "ORDER BY day LIMIT $1) RETURNING day", max_days)
        days = sorted(r["day"] for r in taken)
        for i in range(0, len(days), DAYS_PER_BATCH):
            await _recompute(conn, days[i:i + DAYS_PER_BATCH])
        left = int(await conn.fetchval("SELECT count(*) FROM analytics_pending"))
        recomputed = time.perf_counter() - started
        scored = await _snapshot(conn, at, None if full else state["scores_at"])
        seconds = time.perf_counter() - started
        await conn.execute(
            """UPDATE analytics_refresh SET last_transition_id = $1, refreshed_at = $2,
                                            days = $3, seconds = $4,
                                            scores_at = CASE WHEN $5 THEN $2 ELSE scores_at END""",
            top, at, len(days), seconds, scored)
    return Refreshed(True, tuple(days), seconds, left, round(recomputed, 3))
