"""Postings per second through the ledger's own code, beside `pgbench -N` on the same server.

One run: a scratch database is created and migrated; pgbench's tables are initialised in it
(`pgbench -i`); then, with the same number of clients and the same duration, in rounds,
  1. pgbench -N (simple-update: one account UPDATE and one history INSERT per transaction),
  2. ledger.postings.post() to random retailer x vendor accounts (spread),
  3. ledger.postings.post() with every posting on one retailer's account (hot account).
The three alternate for several rounds and medians are reported, because on a shared machine the
background load moves either figure by 2x within a minute; alternating exposes both to the same.
Goal: spread postings/s >= 0.5 x pgbench TPS. Then ledger.check runs over everything posted; any
break fails the run. The scratch database is dropped afterwards.

    python -m bench.ledger_bench
    (environment: BENCH_CLIENTS=8 BENCH_SECONDS=5 BENCH_ROUNDS=3 TEST_DATABASE_URL=...)
"""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import re
import statistics
import subprocess
import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from bench.scratch import require_consistent_ledger
from ledger import check, db, migrate, postings
from ledger.postings import Posting

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
PGBENCH = "/usr/bin/pgbench"
RETAILERS = 1000
VENDORS = 10


def _with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path="/" + name))


async def _admin(url: str, sql: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _prepare(url: str) -> tuple[int, list[int], list[int]]:
    """Migrate and add people: an admin, retailers, vendors and every account between them."""
    conn = await db.connect(url)
    try:
        await migrate.migrate(conn)
        admin = await conn.fetchval(
            "INSERT INTO users (phone, name, role) VALUES ('+9779800000000', 'Admin', 'ADMIN') "
            "RETURNING id")
        ids = await conn.fetch(
            """INSERT INTO users (phone, name, role)
               SELECT '+97798' || lpad(n::text, 8, '0'),
                      'User ' || n, CASE WHEN n <= $1::int THEN 'RETAILER' ELSE 'VENDOR' END
               FROM generate_series(1, $1::int + $2::int) n RETURNING id, role""",
            RETAILERS, VENDORS)
        retailers = [r["id"] for r in ids if r["role"] == "RETAILER"]
        vendors = [r["id"] for r in ids if r["role"] == "VENDOR"]
        await conn.execute(
            """INSERT INTO retailers (user_id, shop_name)
               SELECT id, 'Shop' FROM unnest($1::bigint[]) id""",
            retailers)
        await conn.execute(
            """INSERT INTO vendors (user_id, shop_name)
               SELECT id, 'Vendor' FROM unnest($1::bigint[]) id""",
            vendors)
        await conn.execute(
            """INSERT INTO ledger_accounts (retailer_id, vendor_id)
               SELECT r, v FROM unnest($1::bigint[]) r, unnest($2::bigint[]) v""",
            retailers, vendors)
        await conn.execute("VACUUM ANALYZE")
        return admin, retailers, vendors
    finally:
        await conn.close()


async def _postings(
    url: str, clients: int, seconds: float, admin: int, accounts: list[tuple[int, int]], tag: str
) -> float:
    """Postings per second with `clients` concurrent connections, each posting in a loop."""
    pool = await db.create_pool(url, min_size=clients, max_size=clients)
    counter = itertools.count()
    done = 0
    try:
        # Warm up: prepared statements on every connection.
        async def one(conn: asyncpg.Connection) -> None:
            retailer, vendor = random.choice(accounts)
            await postings.post(conn, Posting(
                idempotency_key=f"{tag}-{next(counter)}", retailer_id=retailer, vendor_id=vendor,
                kind="ADJUSTMENT", amount_paisa=random.randint(1, 100_000), actor_id=admin,
                reason="bench"))

        async def warm() -> None:
            async with pool.acquire() as conn:
                for _ in range(20):
                    await one(conn)

        await asyncio.gather(*(warm() for _ in range(clients)))
        deadline = time.perf_counter() + seconds

        async def client() -> int:
            n = 0
            async with pool.acquire() as conn:
                while time.perf_counter() < deadline:
                    await one(conn)
                    n += 1
            return n

        start = time.perf_counter()
        done = sum(await asyncio.gather(*(client() for _ in range(clients))))
        elapsed = time.perf_counter() - start
    finally:
        await pool.close()
    return done / elapsed


def _pgbench(url: str, clients: int, seconds: int) -> float:
    out = subprocess.run(
        [PGBENCH, "-N", "-c", str(clients), "-j", str(min(clients, os.cpu_count() or 1)),
         "-T", str(seconds), "-M", "prepared", url],
        check=True, capture_output=True, text=True,
    ).stdout
    match = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", out)
    assert match, out
    return float(match.group(1))


async def _check(url: str) -> check.CheckResult:
    conn = await db.connect(url)
    try:
        return await require_consistent_ledger(conn)
    finally:
        await conn.close()


def main() -> dict[str, Any]:
    server = os.environ.get("TEST_DATABASE_URL", DEFAULT_URL)
    clients = int(os.environ.get("BENCH_CLIENTS", "8"))
    seconds = int(os.environ.get("BENCH_SECONDS", "5"))
    rounds = int(os.environ.get("BENCH_ROUNDS", "3"))
    name = f"khaacho_bench_{os.getpid()}"
    url = _with_database(server, name)
    asyncio.run(_admin(server, f"DROP DATABASE IF EXISTS {name}"))
    asyncio.run(_admin(server, f"CREATE DATABASE {name}"))
    try:
        admin, retailers, vendors = asyncio.run(_prepare(url))
        spread = [(r, v) for r in retailers for v in vendors]
        hot = [(retailers[0], vendors[0])]
        subprocess.run([PGBENCH, "-i", "-s", "1", "-q", url], check=True, capture_output=True)
        # Untimed warm-up of both, so neither pays for a cold table in its first round.
        _pgbench(url, clients, 2)
        asyncio.run(_postings(url, clients, 2, admin, spread, "warm"))
        runs: dict[str, list[float]] = {"pgbench": [], "spread": [], "hot": []}
        for n in range(rounds):
            runs["pgbench"].append(_pgbench(url, clients, seconds))
            runs["spread"].append(
                asyncio.run(_postings(url, clients, seconds, admin, spread, f"spread{n}")))
            runs["hot"].append(asyncio.run(_postings(url, clients, seconds, admin, hot, f"hot{n}")))
        pgbench_tps, ledger_tps, hot_tps = (
            statistics.median(runs[k]) for k in ("pgbench", "spread", "hot"))
        # Raises LedgerBroken (the benchmark fails) if the postings left any break.
        checked = asyncio.run(_check(url))
    finally:
        asyncio.run(_admin(server, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    figures: dict[str, Any] = {
        "clients": clients, "seconds": seconds, "rounds": rounds,
        "rounds_ratio": [round(a / p, 3) for a, p in zip(runs["spread"], runs["pgbench"],
                                                         strict=True)],
        "pgbench_simple_update_tps": round(pgbench_tps, 1),
        "ledger_postings_per_s": round(ledger_tps, 1),
        "ledger_hot_account_postings_per_s": round(hot_tps, 1),
        "ratio": round(ledger_tps / pgbench_tps, 3),
        "hot_ratio": round(hot_tps / pgbench_tps, 3),
        "goal_met": ledger_tps >= 0.5 * pgbench_tps,
        "ledger_check": checked.summary(),
    }
    print(f"{'run (median of rounds)':<40}{'per second':>12}{'vs pgbench':>12}")
    print(f"{'pgbench -N (simple-update)':<40}{pgbench_tps:>12.1f}{1:>12.2f}")
    print(f"{'ledger postings, 10,000 accounts':<40}{ledger_tps:>12.1f}{figures['ratio']:>12.2f}")
    print(f"{'ledger postings, one hot account':<40}{hot_tps:>12.1f}{figures['hot_ratio']:>12.2f}")
    print(f"clients={clients} seconds={seconds} rounds={rounds} "
          f"per-round ratios={figures['rounds_ratio']} "
          f"goal(>=0.5)={'met' if figures['goal_met'] else 'NOT met'}")
    return figures


if __name__ == "__main__":
    main()
