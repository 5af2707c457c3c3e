"""Benchmark of the order parser over a synthetic 10,000-product catalog.

Goals (issue 3): catalog load under 2 s, median parse-and-match time per item under 1 ms.
The catalog is grown deterministically from the demo catalog (brand and size variants of each
product, which keeps every demo product and makes generic words like "chamal" hit hundreds of
products); the messages are those of the dev corpus. Run `python -m bench.parser_bench
[--json FILE]`; `main()` prints a table and returns the figures.
"""

from __future__ import annotations

import argparse
import csv
import gc
import itertools
import json
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from catalog.csvload import DEMO_CATALOG, HEADER
from catalog.parser import OrderParser

PRODUCTS = 10_000
CORPUS = Path(__file__).resolve().parent.parent / "tests" / "catalog" / "data" / "orders-dev.jsonl"
ROUNDS = 5
GOAL_LOAD_S = 2.0
GOAL_ITEM_MS = 1.0

_BRANDS = (
    "Gorkha",
    "Himal",
    "Everest",
    "Sagar",
    "Annapurna",
    "Makalu",
    "Koshi",
    "Gandaki",
    "Karnali",
    "Bagmati",
    "Lumbini",
    "Janaki",
    "Mechi",
    "Rapti",
    "Seti",
    "Tamor",
    "Arun",
    "Dudh",
    "Phewa",
    "Rara",
    "Tilicho",
    "Manaslu",
    "Dhaulagiri",
    "Kanchan",
    "Langtang",
    "Mustang",
    "Dolpa",
    "Ilam",
    "Palpa",
    "Bandipur",
)
_SIZES = ("Small", "Medium", "Large", "Family", "Economy")


def synthetic_catalog(path: Path, products: int = PRODUCTS) -> None:
    """Write a catalog of `products` rows: the demo catalog, then brand/size variants of it."""
    with open(DEMO_CATALOG, encoding="utf-8", newline="") as f:
        demo = list(csv.DictReader(f))
    rows = [dict(row) for row in demo]
    variants = itertools.product(_BRANDS, _SIZES, demo)
    while len(rows) < products:
        brand, size, row = next(variants)
        aliases = [f"{brand} {a}" for a in row["aliases"].split("|") if a]
        rows.append(
            {
                **row,
                "sku": f"{row['sku']}-{brand.upper()}-{size.upper()}",
                "name_en": f"{brand} {row['name_en']} {size}",
                "name_ne": f"{row['name_ne']} {brand}",
                "aliases": "|".join(aliases + [f"{brand} {size} {a}" for a in aliases[:1]]),
            }
        )
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=HEADER)
        writer.writeheader()
        writer.writerows(rows)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the benchmark, print a table, and return the figures (written as JSON if asked)."""
    args = _arguments(argv)
    messages = [
        json.loads(line)["text"] for line in CORPUS.read_text("utf-8").splitlines() if line.strip()
    ]
    with tempfile.TemporaryDirectory() as tmp:
        catalog = Path(tmp) / "catalog.csv"
        synthetic_catalog(catalog, args.products)
        gc.collect()
        started = time.perf_counter()
        parser = OrderParser.from_csv(catalog)
        load_s = time.perf_counter() - started
        # A second, traced load measures memory; tracing slows it down, so it is not timed.
        tracemalloc.start()
        retained = OrderParser.from_csv(catalog)
        index_bytes, load_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        del retained
    per_item_ms: list[float] = []
    per_message_ms: list[float] = []
    for _ in range(ROUNDS):
        for text in messages:
            started = time.perf_counter()
            result = parser.parse(text)
            elapsed_ms = (time.perf_counter() - started) * 1000
            parts = len(result.items) + len(result.ambiguous) + len(result.unknown)
            per_message_ms.append(elapsed_ms)
            per_item_ms.append(elapsed_ms / max(parts, 1))
    figures: dict[str, Any] = {
        "products": len(parser.products),
        "messages": len(messages),
        "rounds": ROUNDS,
        "catalog_load_s": round(load_s, 3),
        "median_item_ms": round(statistics.median(per_item_ms), 4),
        "p95_item_ms": round(statistics.quantiles(per_item_ms, n=20)[-1], 4),
        "max_message_ms": round(max(per_message_ms), 3),
        "parser_retained_mb": round(index_bytes / 2**20, 1),
        "load_tracemalloc_peak_mb": round(load_peak / 2**20, 1),
        "process_peak_rss_mb": round(_peak_rss_mb(), 1),
        "python": sys.version.split()[0],
    }
    _print_table(figures)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return figures


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.parser_bench", description=__doc__)
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    parser.add_argument("--products", type=int, default=PRODUCTS, help="catalog size")
    return parser.parse_args(argv)


def _peak_rss_mb() -> float:
    # ru_maxrss is in kilobytes on Linux (bytes on macOS, where this overstates tenfold+).
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _print_table(figures: dict[str, Any]) -> None:
    goals = {"catalog_load_s": f"< {GOAL_LOAD_S}", "median_item_ms": f"< {GOAL_ITEM_MS}"}
    print(f"{'figure':<28}{'value':>12}  goal")
    for name, value in figures.items():
        print(f"{name:<28}{value!s:>12}  {goals.get(name, '')}")


if __name__ == "__main__":
    main()
