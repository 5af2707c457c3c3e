"""The web benchmark's whole path at a tiny synthetic year: the load, the real app on a port,
every GET page and endpoint asked by each role it lets in. Only behaviour is checked (every one
answered 2xx for someone, nothing 5xx); its timings are the benchmark's business."""

from __future__ import annotations

from bench import web_bench


async def test_every_get_page_and_endpoint_answers_at_a_tiny_synthetic_year(  # type: ignore[no-untyped-def]
    server_url, template_db,
):
    figures = await web_bench.run(server=server_url, scale=0.0005, retailers=30, vendors=6,
                                  days=20, repeat=2, concurrency=2, pgbench=False)
    assert figures["orders"] == 5 * 20
    assert figures["ledger_entries"] > 0
    assert figures["failed"] == [], figures["endpoints"]
    assert not [k for k, row in figures["endpoints"].items()
                if any(status.startswith("5") for status in row["statuses"])]
    # Every GET the registry and the router know was answered by at least one role.
    assert figures["answered"] == sorted(figures["gets"])
    assert "/api/v1/retailers/{phone}/statement" in figures["answered"]
    assert "/app/receivables" in figures["answered"]
