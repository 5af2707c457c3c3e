"""The web benchmark's whole path at a tiny synthetic year: the load, the real app on a port,
every GET page and endpoint asked by each role it lets in, at two sizes of history. Only
behaviour is checked (every one answered 2xx for someone, nothing 5xx, each compared across the
sizes); its timings are the benchmark's business."""

from __future__ import annotations

from bench import web_bench


async def test_every_get_page_and_endpoint_answers_at_two_tiny_synthetic_sizes(  # type: ignore[no-untyped-def]
    server_url, template_db,
):
    figures = await web_bench.run(server=server_url, scale=0.0005, retailers=30, vendors=6,
                                  days=(10, 20), repeat=2, concurrency=2, pgbench=False)
    month, year = figures["sizes"]
    assert (month["orders"], year["orders"]) == (5 * 10, 5 * 20)
    for size in figures["sizes"]:
        assert size["ledger_entries"] > 0
        assert size["failed"] == [], size["endpoints"]
        assert not [k for k, row in size["endpoints"].items()
                    if any(status.startswith("5") for status in row["statuses"])]
        # Every GET the registry and the router know was answered by at least one role.
        assert size["answered"] == sorted(size["gets"])
        assert "/api/v1/retailers/{phone}/statement" in size["answered"]
        assert "/app/receivables" in size["answered"]
    # Both sizes walked the same targets, each compared; the statement's fixed period among
    # them, beside its default (from the first entry).
    assert figures["growth_p95"].keys() == month["endpoints"].keys() == year["endpoints"].keys()
    statements = [k for k in figures["growth_p95"] if "/statement" in k and "/api/v1/" in k]
    assert any("?from=" in k for k in statements) and any("?from=" not in k for k in statements)
    assert set(figures["grew_past_goal"]) <= figures["growth_p95"].keys()
