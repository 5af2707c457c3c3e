"""Benchmark of a bad day: a burst of messages from many numbers while the Graph API fails a share
of sends, and what someone who writes once in the middle of it waits.

The fake Graph API answers HTTP 500 (not accepted), answers after the client gave up, or accepts
and drops the connection, for `--failures` of all sends together (by default 15% / 10% / 5%), and
posts `sent` status webhooks as Meta does. Reported: the drain time (first webhook to last reply
recorded), the waits of `--probes` numbers that each send one message in the middle of the burst
(webhook stored to reply sent: p50, p95, max), and duplicates (messages the fake accepted twice
for the same outbox row; must be 0). Everything runs on 127.0.0.1.
Run `python -m bench.burst_bench [--messages N] [--users N] [--probes N] [--failures F]`.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import statistics
import time
from collections.abc import Sequence
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from bench.scratch import scratch_database
from bot.app import create_app
from bot.appkeys import POOL
from bot.settings import Settings
from tests.fakegraph import PHONE_NUMBER_ID, TOKEN, FakeGraph

SECRET = "bench-secret"
TIMEOUT_SECONDS = 1.0  # the app's send timeout; late answers come after it


def _payload(sender: str, wamid: str) -> bytes:
    body = {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{
        "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "9779801234567", "phone_number_id": "1"},
            "contacts": [{"profile": {"name": "Bench"}, "wa_id": sender}],
            "messages": [{"from": sender, "id": wamid, "timestamp": str(int(time.time())),
                          "type": "text", "text": {"body": "help"}}]}}]}]}
    return json.dumps(body).encode()


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(share * len(ordered)) - 1))]


async def _run(messages: int, users: int, probes: int, failures: float,
               concurrency: int) -> dict[str, Any]:
    graph = FakeGraph()
    graph.answer_delay = 0.02  # a round trip to Meta
    graph.fail_randomly(error=failures / 2, late=failures / 3, drop=failures / 6,
                        late_seconds=TIMEOUT_SECONDS * 2)
    graph_server = TestServer(graph.app(), host="127.0.0.1")
    await graph_server.start_server()
    async with scratch_database("khaacho_bench_burst") as url:
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            database_url=url, whatsapp_app_secret=SecretStr(SECRET),
            whatsapp_access_token=SecretStr(TOKEN), whatsapp_phone_number_id=PHONE_NUMBER_ID,
            whatsapp_api_base=str(graph_server.make_url("/v21.0")),
            outbox_rate_per_second=80,  # Meta's default throughput per business number
            outbox_backoff_seconds=0.2, worker_poll_seconds=0.1,
            outbox_send_timeout_seconds=TIMEOUT_SECONDS, outbox_confirm_seconds=5,
        )
        client = TestClient(TestServer(create_app(settings), host="127.0.0.1"))
        await client.start_server()
        graph.emit_statuses(str(client.make_url("/webhook")), SECRET)
        try:
            burst = [_payload(f"97798{i % users:08d}", f"wamid.BURST{i}")
                     for i in range(messages)]
            # The probes write once each, spread over the middle of the burst.
            middle = [messages * 3 // 10 + k * (messages * 4 // 10) // max(probes, 1)
                      for k in range(probes)]
            queue: asyncio.Queue[bytes] = asyncio.Queue()
            for i, body in enumerate(burst):
                queue.put_nowait(body)
                if i in middle:
                    k = middle.index(i)
                    queue.put_nowait(_payload(f"97797{k:08d}", f"wamid.PROBE{k}"))

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
            assert client.app is not None
            pool = client.app[POOL]
            while await pool.fetchval(  # noqa: ASYNC110 - polling the database is the point
                """SELECT (SELECT count(*) FROM inbound_messages WHERE handled_at IS NULL)
                        + (SELECT count(*) FROM outbox WHERE status = 'pending')"""):
                await asyncio.sleep(0.05)
            drained = time.perf_counter() - started
            waits = [float(r[0]) for r in await pool.fetch(
                """SELECT extract(epoch FROM min(o.sent_at) - m.received_at)
                   FROM outbox o JOIN inbound_messages m ON m.id = o.inbound_id
                   WHERE m.wamid LIKE 'wamid.PROBE%' GROUP BY m.id, m.received_at""")]
            failed = await pool.fetchval("SELECT count(*) FROM outbox WHERE status = 'failed'")
            replies = await pool.fetchval("SELECT count(*) FROM outbox")
        finally:
            await client.close()
            await graph_server.close()
    assert len(waits) == probes, "every probe got its reply"
    return {
        "messages": messages + probes,
        "users": users + probes,
        "graph_failure_share": failures,
        "graph_requests": graph.requests,
        "replies": replies,
        "replies_failed": failed,
        "drain_s": round(drained, 1),
        "probe_wait_p50_s": round(statistics.median(waits), 2) if waits else None,
        "probe_wait_p95_s": round(_percentile(waits, 0.95), 2) if waits else None,
        "probe_wait_max_s": round(max(waits), 2) if waits else None,
        "duplicates": graph.duplicates(),
    }


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.burst_bench")
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--probes", type=int, default=20)
    parser.add_argument("--failures", type=float, default=0.3)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args(argv)
    figures = asyncio.run(_run(args.messages, args.users, args.probes, args.failures,
                               args.concurrency))
    print("burst under Graph API failures (webhook → handle → outbox → flaky fake Graph API)")
    for key, value in figures.items():
        print(f"  {key:<20} {value}")
    return figures


if __name__ == "__main__":
    main()
