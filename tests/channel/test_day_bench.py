"""The town-day benchmark's whole path at a tiny size, in each server layout (one process, two,
the webhook's beside the workers'): real
`khaacho serve`, conversations that go all the way (orders placed, accepted, delivered, paid;
shops registered), no reply sent twice. Its timings are the benchmark's business."""

from __future__ import annotations

import pytest

from bench import day_bench


def test_a_tiny_town_day_goes_through_every_server_layout(
        server_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BENCH_DATABASE_URL", server_url)  # the tests' server, not the default
    sizes = {"retailers": 4, "vendors": 1, "newcomers": 2, "start_rate": 4, "step_seconds": 6,
             "max_rate": 4, "latency_seconds": 4, "burst": 20, "pgbench_seconds": 1}
    figures = day_bench.main([arg for key, value in sizes.items()
                              for arg in ("--set", f"{key}={value}")])
    assert [run["layout"] for run in figures["runs"]] == ["1", "2", "web+workers"]
    assert figures["duplicates"] == 0
    assert figures["ledger_check"].startswith("ledger consistent")
    moved = figures["transitions"]
    assert moved.get("PENDING", 0) > 0 and moved.get("ACCEPTED", 0) > 0, moved
    assert figures["registrations"] > 0
    for run in figures["runs"]:
        assert run["steps"] and run["burst"]["acks_per_s"] > 0
        assert run["latency"]["answered"] > 0
        # The server's CPU is counted (its children's too, with two processes).
        assert run["cpu"]["server_cpu_s"] > 0 and run["cpu"]["server_cpu_ms_per_message"] > 0
        latency = run["latency"]
        assert latency["p50_ms"] <= latency["p95_ms"] <= latency["p99_ms"] <= latency["max_ms"]
