"""Analytics at a year of a town: how long the refresh takes, and every series query's p50/p95.

A scratch database gets the synthetic town of `ledger.synthetic` (`khaacho demo --town`,
without its messages): `--retailers`, `--vendors`, `--orders-per-day` for `--days` days ending
yesterday, 1-5 lines each from the shared catalog, 12 areas, each retailer buying from 3
vendors; 4% rejected by the one vendor offered, 5% cancelled, 8% first refused by another vendor
with a reason, the rest accepted, delivered and mostly paid (entries, payments; `khaacho check`
passes on it).
Then:
  1. `analytics.refresh(full=True)` over the year (the one-off backfill);
  2. a day's new orders, then the periodic incremental refresh (what the server runs);
  3. each series through the service layer, as staff (the town) and as vendors (their own),
     over `--repeat` calls each: p50 and p95 in ms. Goal: p95 < 200 ms for every series.
`pgbench -N` on the same server, 1 client, 5 s, is printed beside as the machine's yardstick
(README "Benchmarks").

    python -m bench.analytics_bench [--orders-per-day 1000] [--days 365] [--repeat 30]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import statistics
import subprocess
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from bench.scratch import scratch_database
from ledger import analytics, db, synthetic
from ledger.analytics import Period

PGBENCH = "/usr/bin/pgbench"
AREAS = synthetic.AREAS


@dataclass(frozen=True)
class Who:
    id: int
    role: str


async def _new_day(conn: asyncpg.Connection, per_day: int) -> None:
    """Today's orders arrive (placed now), each with its log row, as the services would."""
    async with conn.transaction():
        await conn.execute("SET LOCAL session_replication_role = replica")
        await conn.execute(
            """WITH src AS (SELECT * FROM orders ORDER BY id DESC LIMIT $1),
                    copied AS (
                      INSERT INTO orders (number, status, retailer_id, vendor_id, total_paisa,
                                          created_at, updated_at, confirmed_at)
                      SELECT 'KH-N' || id, 'PENDING', retailer_id, NULL, total_paisa, now(),
                             now(), now() FROM src RETURNING id)
               INSERT INTO order_transitions (order_id, from_status, to_status)
               SELECT id, 'DRAFT', 'PENDING' FROM copied""", per_day)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _pgbench(url: str) -> float | None:
    if not os.path.exists(PGBENCH):
        return None
    subprocess.run([PGBENCH, "-i", "-s", "1", "-q", url], check=True, capture_output=True)
    out = subprocess.run([PGBENCH, "-N", "-c", "1", "-T", "5", "-M", "prepared", url],
                         check=True, capture_output=True, text=True).stdout
    match = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", out)
    return float(match.group(1)) if match else None


async def _run(retailers: int, vendors: int, per_day: int, days: int,
               repeat: int) -> dict[str, Any]:
    today = datetime.now(UTC).date()
    start = today - timedelta(days=days)
    async with scratch_database("analytics_bench") as url:
        conn = await db.connect(url)
        try:
            t0 = time.perf_counter()
            await synthetic.load(conn, retailers=retailers, vendors=vendors, per_day=per_day,
                                 days=days, end=today - timedelta(days=1), messages=False)
            loaded = time.perf_counter() - t0
            counts = {t: int(await conn.fetchval(f"SELECT count(*) FROM {t}"))
                      for t in ("orders", "order_lines", "vendor_assignments")}
            full = await analytics.refresh(conn, full=True)
            await conn.execute("ANALYZE")
            sizes = {t: int(await conn.fetchval(f"SELECT count(*) FROM {t}"))
                     for t in ("analytics_orders", "analytics_products", "analytics_retailers")}
            await _new_day(conn, per_day)
            step = await analytics.refresh(conn)
            staff = Who(1, "ADMIN")
            vendor_ids = list(range(2, 2 + vendors))
            rng = random.Random(7)
            year = Period(start, today, "month")
            quarter = Period(today - timedelta(days=91), today, "day")
            weeks = Period(today - timedelta(days=7 * 52), today, "week")

            def vendor() -> Who:
                return Who(rng.choice(vendor_ids), "VENDOR")

            cases: dict[str, Callable[[], Awaitable[Any]]] = {
                "orders: town, a year by month": lambda: analytics.orders(conn, staff, year),
                "orders: town, 92 days by day": lambda: analytics.orders(conn, staff, quarter),
                "orders: town, 53 weeks": lambda: analytics.orders(conn, staff, weeks),
                "orders: an area, a year": lambda: analytics.orders(
                    conn, staff, year, area=rng.choice(AREAS)),
                "orders: a vendor, a year": lambda: analytics.orders(conn, vendor(), year),
                "products: town top 10, a year": lambda: analytics.products(conn, staff, year),
                "products: an area, a year": lambda: analytics.products(
                    conn, staff, year, area=rng.choice(AREAS)),
                "products: a vendor, a year": lambda: analytics.products(conn, vendor(), year),
                "areas: a year": lambda: analytics.areas(conn, staff, year),
                "retailers: town, a year by month": lambda: analytics.retailers(
                    conn, staff, year),
                "retailers: town, 92 days": lambda: analytics.retailers(conn, staff, quarter),
                "retailers: a vendor, a year": lambda: analytics.retailers(
                    conn, vendor(), year),
                "lapsed: town": lambda: analytics.lapsed(conn, staff),
                "lapsed: a vendor": lambda: analytics.lapsed(conn, vendor()),
                "fulfilment: town, a year": lambda: analytics.fulfilment(conn, staff, year),
                "fulfilment: a vendor, a year": lambda: analytics.fulfilment(
                    conn, vendor(), year),
                "rejections: town, a year": lambda: analytics.rejections(conn, staff, year),
                "overdue: town": lambda: analytics.overdue(conn, staff),
                "overdue: a vendor": lambda: analytics.overdue(conn, vendor()),
                "scores: town": lambda: analytics.score_distribution(conn, staff),
            }
            timings: dict[str, dict[str, float]] = {}
            for name, call in cases.items():
                await call()  # warm: the first plan
                spent = []
                for _ in range(repeat):
                    t = time.perf_counter()
                    await call()
                    spent.append((time.perf_counter() - t) * 1000)
                timings[name] = {"p50_ms": round(statistics.median(spent), 2),
                                 "p95_ms": round(_pct(spent, 0.95), 2)}
        finally:
            await conn.close()
        tps = _pgbench(url)
    return {
        "retailers": retailers, "vendors": vendors, "orders_per_day": per_day, "days": days,
        **counts, **sizes, "load_s": round(loaded, 1),
        "full_refresh_s": round(full.seconds, 1), "full_refresh_days": len(full.days),
        "full_recompute_s": full.recompute_seconds,
        "incremental_refresh_s": round(step.seconds, 2),
        "incremental_recompute_s": step.recompute_seconds,
        "incremental_refresh_days": len(step.days),
        "series": timings, "pgbench_N_tps_1_client": tps,
        "worst_p95_ms": max(t["p95_ms"] for t in timings.values()),
    }


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.analytics_bench")
    parser.add_argument("--retailers", type=int, default=1500)
    parser.add_argument("--vendors", type=int, default=300)
    parser.add_argument("--orders-per-day", type=int, default=1000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args(argv)
    figures = asyncio.run(_run(args.retailers, args.vendors, args.orders_per_day, args.days,
                               args.repeat))
    print("analytics (a synthetic year)")
    for key, value in figures.items():
        if key == "series":
            for name, t in value.items():
                print(f"  {name:<36} p50 {t['p50_ms']:>7} ms  p95 {t['p95_ms']:>7} ms")
        else:
            print(f"  {key:<36} {value}")
    return figures


if __name__ == "__main__":
    main()
