"""The history benchmark end to end at a tiny town of two sizes: the loads pass the ledger
check, every turn is timed at each size, and the bytes on disk are measured. Only behaviour is
checked; the timings are the benchmark's business."""

from __future__ import annotations

from bench import history_bench


async def test_the_history_bench_loads_two_sizes_and_times_every_turn(  # type: ignore[no-untyped-def]
    server_url, template_db,
):
    figures = await history_bench.run(server=server_url, months=(0.5, 1), scale=0.002,
                                      retailers=20, vendors=4, repeat=2, sample=10,
                                      pgbench=False)
    month, bigger = figures["sizes"]
    assert (month["days"], bigger["days"]) == (15, 30)
    assert month["orders"] == 20 * 15 and bigger["orders"] == 20 * 30
    assert all(s["ledger_check"].startswith("ledger consistent") for s in figures["sizes"])
    for size in figures["sizes"]:
        assert set(history_bench.CHAT_TURNS) <= set(size["turns"])
        assert "credit score" in size["turns"]
        # Every turn ran queries, and was timed.
        assert all(t["queries"] > 0 and t["db_p95_ms"] > 0 for t in size["turns"].values())
        assert 0 < size["bytes_per_message"] < size["bytes_per_order"]
    assert set(figures["growth_p95"]) == set(month["turns"])
