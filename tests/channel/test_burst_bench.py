"""The burst benchmark runs end to end at a small scale and counts no duplicates."""

from __future__ import annotations

import pytest

from bench.burst_bench import main


def test_burst_benchmark_reports_drain_time_probe_waits_and_no_duplicates(
        server_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BENCH_DATABASE_URL", server_url)  # the tests' server, not the default
    figures = main(["--messages", "60", "--users", "12", "--probes", "4"])
    assert figures["messages"] == 64 and figures["replies"] >= 64
    assert figures["duplicates"] == 0 and figures["replies_failed"] == 0
    assert figures["graph_requests"] > figures["replies"]  # failures were retried
    assert 0 < figures["probe_wait_p50_s"] <= figures["probe_wait_p95_s"] <= figures[
        "probe_wait_max_s"]
