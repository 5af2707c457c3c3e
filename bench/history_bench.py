"""Every chat turn's database time at a month and at a year of a town: does work grow with history?

For each size (`--months`, default 1 and 12) a scratch database, owned and migrated by the owner
role with the app's role granted as in production, gets the synthetic town of `ledger.synthetic`
(`khaacho demo --town`: `--retailers`, `--vendors`, `--scale` x 10,000 orders a day with their
lifecycle, entries, payments and messages; `khaacho check` passes on it, and is run), then the
analytics' full refresh the server's schedule would have kept. Its bytes on disk per order and
per message are measured (pg_total_relation_size: heap, TOAST and indexes).

Then, as the app's role, each turn's services are called as the dialogs call them (bot layer
left out: the same ledger calls dialogs/retailer, dialogs/vendor, dialogs/admin make), for
`--repeat` samples on shops and vendors picked at random: the turns' queries are timed with
asyncpg's query logger (the client's time from sending a query to its last row: the database
and the round trip, not the Python around it) and summed per turn; p50 and p95 per turn. The
turns: a draft (quote, credit position, the draft), confirm, a vendor's accept, a payment
recorded on a bill, dues, a 30-day statement, history, status (a shop's open orders), a
vendor's open orders, the admin's daily report; a retailer's credit score; the dashboard's
series (analytics, the summary tables) and the receivables page's ageing.

Printed: each turn's p95 at each size, the ratio year/month (goal <= 1.5) and chat turns under
50 ms; `pgbench -N` (1 client, 5 s) on the same server in the same run, and each p95 as the
number of pgbench transactions it equals (p95 x TPS), the machine-independent figure.

    python -m bench.history_bench [--scale 0.05] [--retailers 150] [--vendors 30] [--repeat 30]
    python -m bench.history_bench --full   (the seed town: 1,500 shops, 300 vendors, 10,000 a day)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from bench.analytics_bench import _pct, _pgbench
from bench.scratch import require_consistent_ledger, role_database, server_url
from ledger import (
    analytics,
    credit,
    db,
    orders,
    payments,
    pricing,
    reports,
    scores,
    statements,
    synthetic,
    users,
)
from ledger.analytics import Period
from ledger.errors import LedgerError
from ledger.pricing import LineRequest
from locales.formats import NEPAL_TIME

CHAT_GOAL_MS = 50.0
GROWTH_GOAL = 1.5
MESSAGE_TABLES = ("inbound_messages", "outbox")
ORDER_TABLES = ("orders", "order_lines", "order_transitions", "vendor_assignments",
                "stock_reservations", "ledger_entries", "payments", "payment_allocations")
CHAT_TURNS = ("draft", "confirm", "accept", "payment", "dues", "statement", "history", "status",
              "vendor orders", "admin report")


@dataclass(eq=False)  # hashable: asyncpg keeps its query loggers in a set
class Clock:
    """Sums the time of every query the connection runs while `on`."""

    on: bool = False
    spent: float = 0.0
    queries: int = 0
    by_query: dict[str, float] = field(default_factory=dict)  # the statement's start: seconds

    def __call__(self, record: Any) -> None:
        if self.on:
            self.spent += record.elapsed
            self.queries += 1
            key = " ".join(record.query.split())[:90]
            self.by_query[key] = self.by_query.get(key, 0.0) + record.elapsed


@dataclass
class Town:
    admin: users.User
    retailers: list[users.User]
    vendors_of: dict[int, list[int]]  # a shop's vendors
    vendors: dict[int, users.User]
    bills: list[tuple[int, int]] = field(default_factory=list)   # (order, vendor) to pay
    placed: list[int] = field(default_factory=list)              # drafts to confirm
    offered: list[int] = field(default_factory=list)             # confirmed, to accept


async def _people(conn: asyncpg.Connection, sample: int) -> Town:
    rng = random.Random(5)
    rows = await conn.fetch("SELECT retailer_id, vendor_id FROM ledger_accounts")
    vendors_of: dict[int, list[int]] = {}
    for r in rows:
        vendors_of.setdefault(r["retailer_id"], []).append(r["vendor_id"])
    picked = rng.sample(sorted(vendors_of), min(sample, len(vendors_of)))
    retailers = [u for u in [await users.by_id(conn, i) for i in picked] if u is not None]
    vendor_ids = sorted({v for r in picked for v in vendors_of[r]})
    vendors = {i: u for i in vendor_ids if (u := await users.by_id(conn, i)) is not None}
    admin = await users.by_id(conn, 1)
    assert admin is not None
    return Town(admin, retailers, vendors_of, vendors)


async def _turns(conn: asyncpg.Connection, town: Town, rng: random.Random
                 ) -> dict[str, Callable[[], Awaitable[Any]]]:
    """Each turn: the ledger calls its dialog makes, on a shop or vendor picked at random."""
    skus: dict[int, list[str]] = {}
    rows = await conn.fetch(
        "SELECT vendor_id, sku FROM vendor_products WHERE vendor_id = ANY($1::bigint[])",
        list(town.vendors))
    for r in rows:
        skus.setdefault(r["vendor_id"], []).append(r["sku"])
    today = datetime.now(NEPAL_TIME).date()
    year = Period(today - timedelta(days=364), today, "month")
    quarter = Period(today - timedelta(days=91), today, "day")

    def shop() -> users.User:
        return rng.choice(town.retailers)

    async def draft() -> None:
        who = shop()
        mine = skus[rng.choice(town.vendors_of[who.id])]
        lines = [LineRequest(s, 1000 * rng.randint(1, 10)) for s in rng.sample(mine, 2)]
        await credit.position(conn, who.id)
        await pricing.quote(conn, lines)
        order = await orders.create_draft(conn, who, lines,
                                          request_key=f"bench:{uuid.uuid4().hex}")
        town.placed.append(order.id)

    async def confirm() -> None:
        if not town.placed:
            await draft()
        order_id = town.placed.pop()
        row = await orders.get(conn, order_id)
        who = next(u for u in town.retailers if u.id == row.retailer_id)
        await orders.confirm(conn, order_id, who)
        await credit.position(conn, who.id, excluding_order=order_id)
        town.offered.append(order_id)

    async def accept() -> None:
        if not town.offered:
            await confirm()
        order_id = town.offered.pop()
        vendor_id = (await orders.get(conn, order_id)).vendor_id
        if vendor_id is None:  # nobody could take it
            return
        vendor = town.vendors.get(vendor_id) or await users.by_id(conn, vendor_id)
        assert vendor is not None
        await orders.accept(conn, order_id, vendor)
        town.bills.append((order_id, vendor_id))

    async def payment() -> None:
        if not town.bills:
            await accept()
        if not town.bills:
            return
        order_id, vendor_id = town.bills.pop()
        vendor = town.vendors.get(vendor_id) or await users.by_id(conn, vendor_id)
        assert vendor is not None
        await payments.record_for_order(conn, order_id, 10_000, "cash", actor=vendor,
                                        idempotency_key=f"bench:{uuid.uuid4().hex}")

    async def dues() -> None:
        who = shop()
        await reports.balances(conn, who.id, actor=who)
        await credit.position(conn, who.id)

    async def statement() -> None:
        who = shop()
        await statements.statement(conn, who, retailer_id=who.id,
                                   vendor_id=rng.choice(town.vendors_of[who.id]),
                                   start=today - timedelta(days=29), end=today)

    async def history() -> None:
        who = shop()
        await reports.history(conn, who.id, actor=who)

    async def status() -> None:
        who = shop()
        await reports.open_orders(conn, actor=who, retailer_id=who.id)

    async def vendor_orders() -> None:
        vendor = rng.choice(list(town.vendors.values()))
        await reports.open_orders(conn, actor=vendor, vendor_id=vendor.id)

    async def admin_report() -> None:
        await reports.admin_report(conn, town.admin, today)

    async def score() -> None:
        await scores.for_retailer(conn, town.admin, shop().id)

    return {
        "draft": draft, "confirm": confirm, "accept": accept, "payment": payment, "dues": dues,
        "statement": statement, "history": history, "status": status,
        "vendor orders": vendor_orders, "admin report": admin_report,
        "credit score": score,
        "dashboard: orders, a year": lambda: analytics.orders(conn, town.admin, year),
        "dashboard: orders, 92 days": lambda: analytics.orders(conn, town.admin, quarter),
        "dashboard: products, a year": lambda: analytics.products(conn, town.admin, year),
        "dashboard: retailers, a year": lambda: analytics.retailers(conn, town.admin, year),
        "dashboard: lapsed": lambda: analytics.lapsed(conn, town.admin),
        "dashboard: overdue": lambda: analytics.overdue(conn, town.admin),
        "dashboard: scores": lambda: analytics.score_distribution(conn, town.admin),
        "dashboard: receivables ageing": lambda: reports.ageing(conn, actor=town.admin),
    }


async def _measure(conn: asyncpg.Connection, town: Town, repeat: int) -> dict[str, Any]:
    rng = random.Random(11)
    clock = Clock()
    conn.add_query_logger(clock)
    turns = await _turns(conn, town, rng)
    out: dict[str, Any] = {}
    for name, call in turns.items():
        with contextlib.suppress(LedgerError):
            async with conn.transaction():
                await call()  # warm: the first plan of each statement
        db_ms: list[float] = []
        wall_ms: list[float] = []
        queries = 0
        clock.by_query = {}
        for _ in range(repeat):
            clock.spent, clock.queries, clock.on = 0.0, 0, True
            t = time.perf_counter()
            try:
                async with conn.transaction():  # a turn is one transaction, as in the inbox
                    await call()
            except LedgerError:
                pass  # a refusal (say, over the credit limit) is a turn's work too
            wall_ms.append((time.perf_counter() - t) * 1000)
            clock.on = False
            db_ms.append(clock.spent * 1000)
            queries += clock.queries
        out[name] = {"db_mean_ms": round(statistics.fmean(db_ms), 2),
                     "db_p50_ms": round(statistics.median(db_ms), 2),
                     "db_p95_ms": round(_pct(db_ms, 0.95), 2),
                     "wall_p95_ms": round(_pct(wall_ms, 0.95), 2),
                     "queries": round(queries / repeat, 1),
                     # Where a turn's time goes: its costliest statements, ms a turn.
                     "top_queries": {q: round(t * 1000 / repeat, 2) for q, t in sorted(
                         clock.by_query.items(), key=lambda kv: -kv[1])[:3]}}
    conn.remove_query_logger(clock)
    return out


async def _sizes(conn: asyncpg.Connection) -> dict[str, Any]:
    size = {t: int(await conn.fetchval("SELECT pg_total_relation_size($1::regclass)", t))
            for t in (*ORDER_TABLES, *MESSAGE_TABLES)}
    rows = {t: int(await conn.fetchval(f"SELECT count(*) FROM {t}"))
            for t in ("orders", *MESSAGE_TABLES)}
    messages = rows["inbound_messages"] + rows["outbox"]
    return {
        "bytes_per_order": round(sum(size[t] for t in ORDER_TABLES) / max(1, rows["orders"])),
        "bytes_per_message": round(sum(size[t] for t in MESSAGE_TABLES) / max(1, messages)),
        "bytes_per_inbound": round(size["inbound_messages"] / max(1, rows["inbound_messages"])),
        "bytes_per_outbound": round(size["outbox"] / max(1, rows["outbox"])),
        "database_mb": round(int(await conn.fetchval(
            "SELECT pg_database_size(current_database())")) / 2**20, 1),
    }


async def one_size(server: str, *, months: float, retailers: int, vendors: int, per_day: int,
                   repeat: int, sample: int, pgbench: bool) -> dict[str, Any]:
    """Load a town of `months` into a scratch database, measure, drop it; the figures."""
    async with role_database(server, "history_bench") as database:
        days = max(1, round(months * 365 / 12))
        conn = await db.connect(database.superuser)
        try:
            loaded = await synthetic.load(conn, retailers=retailers, vendors=vendors,
                                          per_day=per_day, days=days)
            t = time.perf_counter()
            await analytics.refresh(conn, full=True)
            await conn.execute("ANALYZE")
            refresh_s = round(time.perf_counter() - t, 1)
            t = time.perf_counter()
            checked = await require_consistent_ledger(conn)
            check_s = round(time.perf_counter() - t, 1)
            sizes = await _sizes(conn)
        finally:
            await conn.close()
        app = await db.connect(database.app)
        try:
            town = await _people(app, sample)
            turns = await _measure(app, town, repeat)
        finally:
            await app.close()
        tps = _pgbench(database.superuser) if pgbench else None
    for row in turns.values():
        row["p95_in_pgbench_tx"] = round(row["db_p95_ms"] / 1000 * tps, 1) if tps else None
    return {"months": months, "days": days, "orders_per_day": per_day, **loaded.counts,
            "load_s": loaded.total_s, "load_stages_s": loaded.seconds,
            "analytics_refresh_s": refresh_s, "check_s": check_s,
            "ledger_check": checked.summary(), **sizes,
            "pgbench_N_tps_1_client": tps, "turns": turns}


async def run(*, server: str | None = None, months: Sequence[float] = (1, 12),
              scale: float = 0.05, retailers: int = 150, vendors: int = 30, repeat: int = 30,
              sample: int = 50, pgbench: bool = True) -> dict[str, Any]:
    per_day = max(1, round(synthetic.SEED_ORDERS_PER_DAY * scale))
    sizes = []
    for m in months:
        print(f"  loading and measuring {m} month(s) ...", flush=True)
        sizes.append(await one_size(server or server_url(), months=m, retailers=retailers,
                                    vendors=vendors, per_day=per_day, repeat=repeat,
                                    sample=sample, pgbench=pgbench))
    first, last = sizes[0], sizes[-1]
    growth = {name: round(last["turns"][name]["db_p95_ms"]
                          / max(0.01, first["turns"][name]["db_p95_ms"]), 2)
              for name in first["turns"]}
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"), "scale": scale,
        "retailers": retailers, "vendors": vendors, "orders_per_day": per_day,
        "repeat": repeat, "sizes": sizes, "growth_p95": growth,
        "grew_past_goal": sorted(k for k, g in growth.items() if g > GROWTH_GOAL),
        "chat_over_50ms": sorted({k for s in sizes for k, r in s["turns"].items()
                                  if k in CHAT_TURNS and r["db_p95_ms"] >= CHAT_GOAL_MS}),
    }


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.history_bench")
    parser.add_argument("--scale", type=float, default=0.05,
                        help="orders a day as a share of the seed's 10,000")
    parser.add_argument("--retailers", type=int, default=150)
    parser.add_argument("--vendors", type=int, default=30)
    parser.add_argument("--months", type=float, nargs="+", default=[1, 12])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--full", action="store_true",
                        help="the seed town: 1,500 shops, 300 vendors, 10,000 orders a day")
    parser.add_argument("--no-pgbench", action="store_true")
    args = parser.parse_args(argv)
    if args.full:
        args.scale, args.retailers, args.vendors = 1.0, 1500, 300
    figures = asyncio.run(run(months=args.months, scale=args.scale, retailers=args.retailers,
                              vendors=args.vendors, repeat=args.repeat,
                              pgbench=not args.no_pgbench))
    sizes = figures["sizes"]
    print(f"chat turns' database time at {', '.join(str(s['months']) for s in sizes)} months "
          f"({figures['retailers']} shops, {figures['vendors']} vendors, "
          f"{figures['orders_per_day']} orders a day)")
    for s in sizes:
        print(f"  {s['months']} months: {s['orders']} orders, {s['ledger_entries']} entries, "
              f"{s['inbound_messages'] + s['outbox']} messages; loaded in {s['load_s']} s "
              f"{s['load_stages_s']}; {s['bytes_per_order']} B/order, "
              f"{s['bytes_per_message']} B/message; {s['database_mb']} MB; "
              f"pgbench -N {s['pgbench_N_tps_1_client']} tps")
    header = "".join(f"{str(s['months']) + ' mo p95':>14}" for s in sizes)
    print(f"  {'turn':<32}{header}{'growth':>9}{'queries':>9}{'mean, last':>12}")
    for name in sizes[0]["turns"]:
        cells = "".join(f"{s['turns'][name]['db_p95_ms']:>11} ms" for s in sizes)
        mark = "  GREW" if figures["growth_p95"][name] > GROWTH_GOAL else ""
        print(f"  {name:<32}{cells}{figures['growth_p95'][name]:>8}x"
              f"{sizes[-1]['turns'][name]['queries']:>9}"
              f"{sizes[-1]['turns'][name]['db_mean_ms']:>9} ms{mark}")
    for name in figures["grew_past_goal"]:
        print(f"  {name} at {sizes[-1]['months']} months, ms a turn: "
              + "; ".join(f"{t} ms: {q}" for q, t in
                          sizes[-1]["turns"][name]["top_queries"].items()))
    print(f"  grew past {GROWTH_GOAL}x: {figures['grew_past_goal'] or 'none'}; chat turns over "
          f"{CHAT_GOAL_MS} ms: {figures['chat_over_50ms'] or 'none'}")
    return figures


if __name__ == "__main__":
    main()
