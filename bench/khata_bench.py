"""`khaacho khata import` of a generated book: rows per second, and memory that does not grow
with the file.

A book of N rows (10 vendors, 500 retailers, two years, 60 % sales and 40 % payments that never
exceed what is owed, new retailers among them, lines out of date order in blocks) is written to
a file; a fresh process imports it into a scratch database through `ledger.khata.import_book`
(what the command runs) and reports its time and peak RSS. Sizes run one after another, each in
its own process, so each peak is that import's own: with streaming the peak at 60,000 rows
stays that at 10,000. Then `ledger.check` runs over everything imported.
Goal: >= 2,000 rows/s.

    python -m bench.khata_bench [--rows 10000 60000]
    (environment: BENCH_KHATA_ROWS="10000 60000", the sizes `make bench` runs; CI's test of
    the benchmark runs a small one)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from bench.scratch import require_consistent_ledger, scratch_database
from ledger import db, khata

VENDORS = 10
RETAILERS = 500
DAYS = 730
FIRST_DAY = date(2024, 1, 1)
BLOCK = 100  # lines written in reverse within each block: the file is not in date order
HEADER = "date,vendor_phone,retailer_phone,retailer_name,kind,amount,reference,due_date,method"


def vendor_phone(n: int) -> str:
    return f"98500{n:05d}"


def retailer_phone(n: int) -> str:
    return f"98600{n:05d}"


def write_book(path: Path, rows: int, seed: int = 11) -> None:
    """A book of `rows` lines; payments never exceed what is owed at their date."""
    rng = random.Random(seed)
    owed: dict[tuple[int, int], int] = {}
    methods = ("", "cash", "esewa", "khalti", "bank", "cheque", "other")
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(HEADER + "\n")
        block: list[str] = []
        for i in range(rows):
            day = FIRST_DAY + timedelta(days=i * DAYS // rows)
            v, r = rng.randrange(VENDORS), rng.randrange(RETAILERS)
            balance = owed.get((v, r), 0)
            if balance >= 100 and rng.random() < 0.4:
                amount = rng.randint(1, balance // 100) * 100
                owed[(v, r)] = balance - amount
                line = (f"{day},{vendor_phone(v)},{retailer_phone(r)},,payment,"
                        f"{amount // 100}.{amount % 100:02d},R{i},,{rng.choice(methods)}")
            else:
                amount = rng.randint(500, 2_000_000)
                owed[(v, r)] = balance + amount
                due = day + timedelta(days=15) if rng.random() < 0.3 else ""
                line = (f"{day},{vendor_phone(v)},{retailer_phone(r)},Pasal {r},sale,"
                        f"{amount // 100}.{amount % 100:02d},B{i},{due},")
            block.append(line)
            if len(block) == BLOCK:
                out.writelines(f"{x}\n" for x in reversed(block))
                block.clear()
        out.writelines(f"{x}\n" for x in reversed(block))


async def _import_once(path: Path) -> dict[str, Any]:
    """In this process: a scratch database with the vendors, then the import, timed."""
    async with scratch_database("khaacho_khata_bench") as url:
        conn = await db.connect(url)
        try:
            await conn.executemany(
                "INSERT INTO users (phone, name, role) VALUES ($1, $2, 'VENDOR')",
                [(f"+977{vendor_phone(n)}", f"Vendor {n}") for n in range(VENDORS)])
            await conn.execute(
                "INSERT INTO vendors (user_id, shop_name) SELECT id, name FROM users")
            started = time.perf_counter()
            with path.open(encoding="utf-8", newline="") as lines:
                result = await khata.import_book(conn, lines, starter_limit_paisa=1_000_000,
                                                 name=path.name, today=date(2026, 1, 1))
            seconds = time.perf_counter() - started
            if not result.ok:
                raise RuntimeError(f"the generated book was refused: {result.problems[:5]}")
            await require_consistent_ledger(conn)
        finally:
            await conn.close()
    return {"rows": result.rows, "seconds": round(seconds, 2),
            "rows_per_second": round(result.rows / seconds),
            "bills": result.sales, "payments": result.payments,
            "bills_paid_in_full": result.completed, "retailers_added": result.retailers_added,
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def measure(rows: int) -> dict[str, Any]:
    """Generate a book of `rows` lines and import it in a fresh process."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"khata_{rows}.csv"
        write_book(path, rows)
        done = subprocess.run(
            [sys.executable, "-m", "bench.khata_bench", "--one", str(path)],
            capture_output=True, text=True, check=False, timeout=3600)
        if done.returncode != 0:
            raise RuntimeError(f"import of {rows} rows failed:\n{done.stderr[-3000:]}")
        figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        figures["file_mb"] = round(path.stat().st_size / 2**20, 1)
        return figures


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.khata_bench")
    parser.add_argument("--rows", type=int, nargs="+", default=[
        int(n) for n in os.environ.get("BENCH_KHATA_ROWS", "10000 60000").split()])
    parser.add_argument("--one", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one is not None:  # the child: import one file, print its figures
        print(json.dumps(asyncio.run(_import_once(args.one))), flush=True)
        return {}
    runs = {str(rows): measure(rows) for rows in args.rows}
    print("khata import (one process per size; peak RSS of that process)")
    for rows, figures in runs.items():
        print(f"  {rows:>7} rows: {figures['rows_per_second']:,} rows/s "
              f"({figures['seconds']} s), peak RSS {figures['peak_rss_mb']} MB, "
              f"file {figures['file_mb']} MB")
    return runs


if __name__ == "__main__":
    main()
