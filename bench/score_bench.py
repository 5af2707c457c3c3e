"""Credit scores: one retailer at a year of history, and every retailer of a town at once.

A scratch database gets a simulated town (tests/ledger/score_sim.py: retailers buying and paying
for a year through the ledger's services). Building a 1,500-retailer town that way takes a
quarter of an hour, so `--seed-retailers` are simulated and then copied, rows and all (ids
shifted, keys suffixed; triggers off only for the copy, as the server's superuser), until the
town has `--retailers`. `ledger.check` must pass over the result, so the copy is a ledger as
the services would have left it. Then:
  1. one retailer's score (`ledger.scores.for_retailer`), median and p95 over `--repeat` calls;
  2. the whole town (`ledger.scores.town`), median of 3.
Goals: one retailer well under 50 ms; a 1,500-retailer town in seconds.

    python -m bench.score_bench [--retailers 1500] [--seed-retailers 30]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import asyncpg

from bench.scratch import require_consistent_ledger, scratch_database
from ledger import db, scores
from tests.ledger import score_sim

# The columns each copy shifts (by the copy's offset for that table) or rewrites.
_SHIFT = {
    "users": {"id": "users"},
    "retailers": {"user_id": "users"},
    "orders": {"id": "orders", "retailer_id": "users"},
    "order_lines": {"order_id": "orders"},
    "order_transitions": {"id": "order_transitions", "order_id": "orders"},
    "stock_reservations": {"order_id": "orders"},
    "ledger_accounts": {"id": "ledger_accounts", "retailer_id": "users"},
    "payments": {"id": "payments", "retailer_id": "users"},
    "payment_allocations": {"payment_id": "payments", "order_id": "orders"},
    "bills_owing": {"order_id": "orders", "retailer_id": "users"},  # 030's, kept by triggers
    "ledger_entries": {"id": "ledger_entries", "account_id": "ledger_accounts",
                       "order_id": "orders", "payment_id": "payments",
                       "reverses_entry_id": "ledger_entries"},
}
_REWRITE = {
    "users": {"phone": "'+97796' || lpad((id + {users})::text, 8, '0')", "wa_id": "NULL",
              "wa_user_id": "NULL", "name": "name || ' ' || {copy}"},
    "retailers": {"shop_name": "shop_name || ' ' || {copy}"},
    "orders": {"number": "'KH-' || lpad((id + {orders})::text, 9, '0')", "request_key": "NULL",
               "confirm_key": "NULL", "draft_ref": "NULL"},
    "payments": {"idempotency_key": "idempotency_key || ':copy' || {copy}"},
    "ledger_entries": {"idempotency_key": "idempotency_key || ':copy' || {copy}"},
}
# Rows of the seed retailers only (staff and vendors are shared by every copy).
_OF_SEED_ORDERS = "order_id IN (SELECT id FROM orders WHERE retailer_id = ANY($1::bigint[]))"
_SEED = {
    "users": "id = ANY($1::bigint[])", "retailers": "user_id = ANY($1::bigint[])",
    "orders": "retailer_id = ANY($1::bigint[])",
    "order_lines": _OF_SEED_ORDERS, "order_transitions": _OF_SEED_ORDERS,
    "stock_reservations": _OF_SEED_ORDERS,
    "ledger_accounts": "retailer_id = ANY($1::bigint[])",
    "payments": "retailer_id = ANY($1::bigint[])",
    "payment_allocations":
        "payment_id IN (SELECT id FROM payments WHERE retailer_id = ANY($1::bigint[]))",
    "bills_owing": "retailer_id = ANY($1::bigint[])",
    "ledger_entries": "account_id IN (SELECT id FROM ledger_accounts "
                      "WHERE retailer_id = ANY($1::bigint[]))",
}
_SEQUENCES = ("users", "orders", "order_transitions", "ledger_accounts", "payments",
              "ledger_entries")


async def _copy_town(conn: asyncpg.Connection, seed: list[int], copies: int) -> None:
    """Copy the seed retailers' rows `copies` times, in one transaction, triggers off."""
    columns = {t: [r["column_name"] for r in await conn.fetch(
        """SELECT column_name FROM information_schema.columns
           WHERE table_schema = current_schema() AND table_name = $1
           ORDER BY ordinal_position""", t)] for t in _SHIFT}
    span = {t: int(await conn.fetchval(f"SELECT COALESCE(max(id), 0) + 1 FROM {t}"))
            for t in _SEQUENCES}
    async with conn.transaction():
        await conn.execute("SET LOCAL session_replication_role = replica")
        for copy in range(1, copies + 1):
            offsets = {t: span[t] * copy for t in span}
            for table, shifts in _SHIFT.items():
                rewrites = _REWRITE.get(table, {})
                select = []
                for column in columns[table]:
                    if column in rewrites:
                        select.append(rewrites[column].format(copy=copy, **offsets))
                    elif column in shifts:
                        select.append(f"{column} + {offsets[shifts[column]]}")
                    else:
                        select.append(column)
                await conn.execute(
                    f"INSERT INTO {table} ({', '.join(columns[table])}) "
                    f"SELECT {', '.join(select)} FROM {table} WHERE {_SEED[table]}", seed)
        await conn.execute(
            """UPDATE vendor_products vp SET reserved_milli = COALESCE((
                   SELECT sum(quantity_milli) FROM stock_reservations s
                   WHERE s.vendor_id = vp.vendor_id AND s.sku = vp.sku
                     AND s.state = 'RESERVED'), 0)""")
        for table in _SEQUENCES:
            await conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table}")


async def _run(retailers: int, seed_retailers: int, repeat: int) -> dict[str, Any]:
    async with scratch_database("score_bench") as url:
        conn = await db.connect(url)
        try:
            started = time.perf_counter()
            town = await score_sim.build(conn, retailers=seed_retailers, days=365, seed=3)
            built = time.perf_counter() - started
            seed = [s.retailer.id for s in town.retailers]
            copies = max(0, -(-retailers // seed_retailers) - 1)
            await _copy_town(conn, seed, copies)
            await conn.execute("ANALYZE")
            await require_consistent_ledger(conn)
            total = int(await conn.fetchval("SELECT count(*) FROM retailers"))
            bills = int(await conn.fetchval("SELECT count(*) FROM orders"))
            as_of = town.start + timedelta(days=365)
            one: list[float] = []
            for i in range(repeat):
                rid = seed[i % len(seed)]
                t0 = time.perf_counter()
                await scores.for_retailer(conn, town.staff, rid, as_of=as_of)
                one.append((time.perf_counter() - t0) * 1000)
            whole: list[float] = []
            scored = 0
            for _ in range(3):
                t0 = time.perf_counter()
                found = await scores.town(conn, None, as_of=as_of)
                whole.append(time.perf_counter() - t0)
                scored = sum(1 for f in found if f.score.score is not None)
        finally:
            await conn.close()
    one.sort()
    return {
        "retailers": total, "orders": bills, "scored": scored,
        "seed_simulated_s": round(built, 1),
        "one_retailer_ms_median": round(statistics.median(one), 2),
        "one_retailer_ms_p95": round(one[int(0.95 * (len(one) - 1))], 2),
        "town_s_median": round(statistics.median(whole), 2),
    }


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.score_bench")
    parser.add_argument("--retailers", type=int, default=150)
    parser.add_argument("--seed-retailers", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args(argv)
    figures = asyncio.run(_run(args.retailers, args.seed_retailers, args.repeat))
    print("credit score (as of a year of history)")
    for key, value in figures.items():
        print(f"  {key:<24} {value}")
    return figures


if __name__ == "__main__":
    main()
