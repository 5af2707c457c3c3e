"""A simulated town for validating the credit score: retailers with a hidden reliability buy on
credit for a year and pay on time, late, or stop paying, all through the ledger's own services
with their clocks set (`now=`), so what is scored is exactly what the ledger would hold.

Each retailer has a hidden reliability `r` in (0, 1). It sets how often a bill is paid by its due
date, how late the others are, how often a payment bounces, and the monthly chance of a shock
after which the retailer buys less for a while and then stops paying altogether. Noise: every
bill's payment day is drawn afresh, purchases vary in size and rhythm. Who "defaults" (a bill
60+ days past due) is decided by the same draws after the scoring date, never by the score.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg

from ledger import check, orders, payments, users
from ledger.errors import OverCreditLimit
from ledger.pricing import LineRequest
from ledger.score_data import Facts
from ledger.users import User

START = datetime(2025, 1, 1, 4, 15, tzinfo=UTC)   # 10:00 in Nepal
DEFAULT_DAYS = 60
SHOCKS_FROM = 240
_phones = itertools.count(9841000000)


@dataclass(frozen=True)
class Simulated:
    retailer: User
    reliability: float
    shock_day: int | None     # the day they stop paying, if within the simulation


@dataclass(frozen=True)
class Town:
    retailers: tuple[Simulated, ...]
    vendors: tuple[User, ...]
    staff: User
    start: datetime
    days: int


def _shock_day(rng: random.Random, r: float, days: int) -> int | None:
    """The day a retailer stops paying: a monthly hazard that falls with reliability, from
    SHOCKS_FROM on (a hard season in the second half of the simulation)."""
    monthly = 0.02 + 0.25 * (1 - r) ** 2
    for month in range(SHOCKS_FROM // 30, days // 30):
        if rng.random() < monthly:
            return month * 30 + rng.randrange(30)
    return None


async def build(
    conn: asyncpg.Connection, *, retailers: int = 60, days: int = 480, seed: int = 12,
    sku: str = "CHINI",
) -> Town:
    """Add `retailers` retailers and three vendors, then run `days` days of buying and paying
    from START; ends with ledger.check (which must pass)."""
    rng = random.Random(seed)
    await conn.execute(
        """INSERT INTO products (sku, name_en, name_ne, category, unit, price_paisa)
           VALUES ($1, 'Sugar', 'चिनी', 'grocery', 'kg', 10000) ON CONFLICT (sku) DO NOTHING""",
        sku)
    staff = await users.upsert(conn, phone=f"+977{next(_phones)}", name="Sim Admin", role="ADMIN")
    vendors = []
    for i in range(3):
        vendor = await users.upsert(conn, phone=f"+977{next(_phones)}", name=f"Sim Vendor {i}",
                                    role="VENDOR")
        await conn.execute(
            """INSERT INTO vendor_products (vendor_id, sku, price_paisa, stock_milli)
               VALUES ($1, $2, $3, 1000000000000)""", vendor.id, sku, 10000 + i)
        vendors.append(vendor)
    town: list[Simulated] = []
    # (time, seq, kind, retailer index, amount or order id)
    events: list[tuple[datetime, int, str, int, int]] = []
    seq = itertools.count()
    for i in range(retailers):
        r = rng.betavariate(2.5, 1.4)
        gap = rng.uniform(14, 28)         # days between orders
        size = rng.uniform(0.6, 1.6)      # how big this shop buys
        monthly = 30 * size * 10_000 * 30 / gap   # paisa a month, at about Rs 100 a kg
        shop = await users.upsert(conn, phone=f"+977{next(_phones)}", name=f"Sim Shop {i}",
                                  role="RETAILER", credit_limit_paisa=round(2.5 * monthly))
        shock = _shock_day(rng, r, days)
        town.append(Simulated(shop, r, shock))
        day = rng.uniform(0, 40)
        while day < days:
            fading = shock is not None and shock - 60 < day  # buys less before the shock
            kilos = max(1, round(rng.lognormvariate(math.log(30 * size), 0.4)
                                 * (0.4 if fading else 1)))
            at = START + timedelta(days=day, minutes=rng.randrange(300))
            events.append((at, next(seq), "order", i, kilos))
            day += rng.expovariate(1 / gap) + 1
    heapq.heapify(events)
    while events:
        at, _, kind, i, value = heapq.heappop(events)
        sim = town[i]
        if kind == "order":
            try:
                draft = await orders.create_draft(
                    conn, sim.retailer, [LineRequest(sku, value * 1000, "kg")])
                placed = await orders.confirm(conn, draft.id, sim.retailer, now=at)
                assert placed.order.vendor_id is not None
                vendor = next(v for v in vendors if v.id == placed.order.vendor_id)
                order = await orders.accept(conn, draft.id, vendor, now=at)
            except OverCreditLimit:
                continue
            day = (at - START).days + 30
            if sim.shock_day is not None and day >= sim.shock_day:
                continue                   # never paid
            r = sim.reliability
            if rng.random() < 0.25 + 0.73 * r:
                delay = -rng.uniform(0, 12)
            else:
                delay = rng.expovariate(1 / (4 + 80 * (1 - r) ** 2))
            if sim.shock_day is not None and day + delay >= sim.shock_day:
                continue
            assert order.due_at is not None
            heapq.heappush(events, (order.due_at + timedelta(days=delay), next(seq), "pay", i,
                                    order.total_paisa))
        else:
            if (at - START).days >= days:
                continue
            vendor_id, owed = await _vendor_owed(conn, sim.retailer.id)
            amount = min(value, owed)
            if amount <= 0:
                continue
            result = await payments.record(
                conn, retailer_id=sim.retailer.id, vendor_id=vendor_id, amount_paisa=amount,
                method="cheque", actor=staff, idempotency_key=f"sim:{next(seq)}", now=at)
            if rng.random() < 0.01 + 0.08 * (1 - sim.reliability):  # bounced, found 3 days on
                await payments.reverse_payment(
                    conn, result.payment_id, staff, "cheque bounced",
                    idempotency_key=f"sim:reverse:{result.payment_id}",
                    now=at + timedelta(days=3))
                heapq.heappush(events, (at + timedelta(days=rng.uniform(5, 20)), next(seq),
                                        "pay", i, amount))
    checked = await check.run(conn)
    assert checked.ok, checked.lines()
    return Town(tuple(town), tuple(vendors), staff, START, days)


async def _vendor_owed(conn: asyncpg.Connection, retailer_id: int) -> tuple[int, int]:
    """The vendor this retailer owes the most, and how much (payments go where the debt is)."""
    row = await conn.fetchrow(
        """SELECT vendor_id, balance_paisa FROM ledger_accounts WHERE retailer_id = $1
           ORDER BY balance_paisa DESC, vendor_id LIMIT 1""", retailer_id)
    assert row is not None
    return row["vendor_id"], row["balance_paisa"]


def defaulted(later: Facts, as_of: datetime) -> bool:
    """Whether a bill crossed 60 days past due between `as_of` and `later.as_of`."""
    for bill in later.bills:
        mark = bill.due_at + timedelta(days=DEFAULT_DAYS)
        if not as_of < mark <= later.as_of:
            continue
        if bill.paid_at is None or bill.paid_at > mark:
            return True
    return False


def already_bad(facts: Facts) -> bool:
    """A bill already 60+ days past due at the scoring date: a default, not a prediction."""
    limit = facts.as_of - timedelta(days=DEFAULT_DAYS)
    return any(b.due_at <= limit and (b.paid_at is None or b.paid_at > b.due_at
                                      + timedelta(days=DEFAULT_DAYS)) for b in facts.bills)


def naive(facts: Facts) -> float:
    """The naive rule: the share of bills due so far that were ever paid late (higher = riskier)."""
    due = [b for b in facts.bills if b.due_at <= facts.as_of]
    if not due:
        return 0.0
    late = sum(1 for b in due
               if (b.paid_at or facts.as_of) > b.due_at + timedelta(days=1))
    return late / len(due)


def auc(risk: list[float], bad: list[bool]) -> float:
    """Area under the ROC curve: the chance a random defaulter has a higher risk than a random
    good retailer (ties count half). Mann-Whitney, O(n²) is plenty for a town."""
    goods = [x for x, b in zip(risk, bad, strict=True) if not b]
    bads = [x for x, b in zip(risk, bad, strict=True) if b]
    if not goods or not bads:
        raise ValueError("AUC needs both defaulters and good retailers")
    wins = sum(1.0 if x > y else 0.5 if x == y else 0.0 for x in bads for y in goods)
    return wins / (len(goods) * len(bads))
