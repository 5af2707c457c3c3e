"""The analytics benchmark runs end to end on a small synthetic town (CI-sized)."""

from __future__ import annotations

from bench.analytics_bench import main


def test_the_benchmark_loads_a_small_year_refreshes_and_times_every_series(
        server_url: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("BENCH_DATABASE_URL", server_url)
    figures = main(["--retailers", "40", "--vendors", "6", "--orders-per-day", "20",
                    "--days", "40", "--repeat", "2"])
    assert figures["orders"] == 800 and figures["full_refresh_days"] == 40
    assert figures["analytics_orders"] > 0 and figures["incremental_refresh_days"] >= 1
    assert len(figures["series"]) == 20
    assert all(t["p95_ms"] >= t["p50_ms"] > 0 for t in figures["series"].values())
