"""The khata import benchmark runs end to end on a small generated book (CI-sized)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from bench.khata_bench import main, write_book
from ledger.khata_csv import Reader


def test_the_generated_book_reads_without_a_problem(tmp_path: Path) -> None:
    path = tmp_path / "book.csv"
    write_book(path, 500)
    reader = Reader(today=date(2026, 1, 1))
    with path.open(encoding="utf-8", newline="") as lines:
        rows = list(reader.rows(lines))
    assert reader.errors == 0 and len(rows) == 500
    assert {r.kind for r in rows} == {"sale", "payment"}
    # Out of date order, as the benchmark promises.
    assert any(a.happened_on > b.happened_on for a, b in zip(rows, rows[1:], strict=False))


def test_the_benchmark_imports_a_small_book_and_reports(server_url: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("BENCH_DATABASE_URL", server_url)
    figures = main(["--rows", "1500"])
    run = figures["1500"]
    assert run["rows"] == 1500 and run["rows_per_second"] > 0 and run["peak_rss_mb"] > 0
    assert run["bills"] + run["payments"] == 1500
