"""Benchmark of the WhatsApp channel: signed webhook POSTs in, replies out through a fake Graph API.

Measures, on the local PostgreSQL: webhook ingest (messages acknowledged per second), and end to
end throughput (stored → handled → reply sent) with per-message latency, for a burst from many
users, then checks the ledger (ledger.check; any break fails the run). Everything runs on
127.0.0.1. Run `python -m bench.channel_bench [--messages N]`.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import resource
import statistics
import time
from collections.abc import Sequence
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from bench.scratch import require_consistent_ledger, scratch_database
from bot.app import create_app
from bot.appkeys import POOL
from bot.settings import Settings
from tests.fakegraph import PHONE_NUMBER_ID, TOKEN, FakeGraph

SECRET = "bench-secret"


def _payload(i: int, users: int) -> bytes:
    sender = f"97798{i % users:08d}"
    body = {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{
        "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "9779801234567", "phone_number_id": "1"},
            "contacts": [{"profile": {"name": "Bench"}, "wa_id": sender}],
            "messages": [{"from": sender, "id": f"wamid.BENCH{i}", "timestamp": "1764064800",
                          "type": "text", "text": {"body": "help"}}]}}]}]}
    return json.dumps(body).encode()


async def _run(messages: int, users: int, concurrency: int) -> dict[str, Any]:
    graph = FakeGraph()
    graph_server = TestServer(graph.app(), host="127.0.0.1")
    await graph_server.start_server()
    async with scratch_database("khaacho_bench_channel") as url:
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            database_url=url, whatsapp_app_secret=SecretStr(SECRET),
            whatsapp_access_token=SecretStr(TOKEN), whatsapp_phone_number_id=PHONE_NUMBER_ID,
            whatsapp_api_base=str(graph_server.make_url("/v21.0")),
            outbox_rate_per_second=1000, worker_poll_seconds=0.05,
        )
        client = TestClient(TestServer(create_app(settings), host="127.0.0.1"))
        await client.start_server()
        try:
            bodies = [_payload(i, users) for i in range(messages)]
            queue: asyncio.Queue[bytes] = asyncio.Queue()
            for body in bodies:
                queue.put_nowait(body)

            async def post_all() -> None:
                while not queue.empty():
                    body = queue.get_nowait()
                    signature = "sha256=" + hmac.new(SECRET.encode(), body,
                                                     hashlib.sha256).hexdigest()
                    response = await client.post("/webhook", data=body, headers={
                        "X-Hub-Signature-256": signature})
                    assert response.status == 200, await response.text()

            started = time.perf_counter()
            await asyncio.gather(*(post_all() for _ in range(concurrency)))
            acked = time.perf_counter() - started
            assert client.app is not None
            pool = client.app[POOL]
            while await pool.fetchval(  # noqa: ASYNC110 - polling the database is the point
                """SELECT (SELECT count(*) FROM inbound_messages WHERE handled_at IS NULL)
                        + (SELECT count(*) FROM outbox WHERE status = 'pending')"""):
                await asyncio.sleep(0.01)
            done = time.perf_counter() - started
            # Latency: from storing a message to sending the first reply to it.
            latencies = [r[0] for r in await pool.fetch(
                """SELECT extract(epoch FROM min(o.sent_at) - m.received_at)
                   FROM outbox o JOIN inbound_messages m ON m.id = o.inbound_id
                   GROUP BY m.id, m.received_at""")]
            replies = len(graph.sent)
            async with pool.acquire() as conn:
                # Raises LedgerBroken (the benchmark fails) on any break.
                checked = await require_consistent_ledger(conn)
        finally:
            await client.close()
            await graph_server.close()
    latencies_ms = sorted(float(x) * 1000 for x in latencies)
    return {
        "messages": messages,
        "replies": replies,
        "users": users,
        "ingest_per_s": round(messages / acked, 1),
        "end_to_end_per_s": round(messages / done, 1),
        "latency_p50_ms": round(statistics.median(latencies_ms), 1),
        "latency_p95_ms": round(latencies_ms[int(len(latencies_ms) * 0.95) - 1], 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "ledger_check": checked.summary(),
    }


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.channel_bench")
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args(argv)
    figures = asyncio.run(_run(args.messages, args.users, args.concurrency))
    print("channel (webhook → handle → outbox → fake Graph API, one process)")
    for key, value in figures.items():
        print(f"  {key:<20} {value}")
    return figures


if __name__ == "__main__":
    main()
