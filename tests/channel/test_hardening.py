"""HTTP hardening: security headers and no version on every response, slow clients cut off,
/metrics behind a token or this machine, and `khaacho serve` refusing half a configuration."""

from __future__ import annotations

import asyncio
import os
import socket
import sys

import pytest
from aiohttp import web
from pydantic import SecretStr

from bot.app import create_app
from bot.appkeys import POOL
from bot.security import server_options
from bot.settings import Settings
from tests.conftest import ROOT, post_webhook
from tests.fakegraph import PHONE_NUMBER_ID, TOKEN


def non_loopback_address() -> str:
    """An address of this machine that is not loopback, to be a client 'from elsewhere'."""
    for probe in ("192.0.2.1", "10.255.255.255", "203.0.113.1"):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            try:
                udp.connect((probe, 9))  # UDP: picks the outgoing interface, sends nothing
            except OSError:
                continue
            address = udp.getsockname()[0]
            if not address.startswith("127."):
                return str(address)
    pytest.skip("this machine has no non-loopback IPv4 address")


async def test_every_response_carries_security_headers_and_no_version(start_app):
    client = await start_app(workers=False)
    responses = [
        await client.get("/healthz"),
        await client.get("/no/such/page"),  # 404 from the router
        await client.delete("/healthz"),  # 405
        await client.post("/webhook", data=b"{}"),  # 401, our own error
        await client.get("/webhook"),  # 403
    ]
    assert [r.status for r in responses] == [200, 404, 405, 401, 403]
    for response in responses:
        headers = response.headers
        assert headers["Server"] == "khaacho", headers
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "same-origin"
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert "default-src 'none'" in headers["Content-Security-Policy"]


async def test_a_crash_inside_a_handler_still_gets_the_headers(wa_settings, aiohttp_client):
    app = create_app(wa_settings, workers=False)

    async def boom(request: web.Request) -> web.Response:
        raise RuntimeError("boom")

    app.router.add_get("/boom", boom)
    response = await (await aiohttp_client(app)).get("/boom")
    assert response.status == 500
    assert response.headers["Server"] == "khaacho"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


async def test_a_malformed_request_gets_no_version_either(start_app):
    client = await start_app(workers=False)
    reader, writer = await asyncio.open_connection(client.host, client.port)
    writer.write(b"NOT AN HTTP REQUEST\r\n\r\n")
    await writer.drain()
    answer = await reader.read()
    writer.close()
    assert answer.startswith(b"HTTP/1.") and b" 400 " in answer.split(b"\r\n")[0], answer[:40]
    assert b"aiohttp" not in answer.lower() and b"python" not in answer.lower()


async def test_hsts_only_for_a_real_host_name_and_only_when_not_turned_off(wa_settings,
                                                                          aiohttp_client):
    client = await aiohttp_client(create_app(wa_settings, workers=False))
    far = await client.get("/healthz", headers={"Host": "khaacho.example.com"})
    assert far.headers["Strict-Transport-Security"] == "max-age=31536000"
    for host in ("localhost:8080", "127.0.0.1:8080", "[::1]:8080", "app.localhost"):
        near = await client.get("/healthz", headers={"Host": host})
        assert "Strict-Transport-Security" not in near.headers, host
    off = wa_settings.model_copy(update={"hsts_max_age_seconds": 0})
    client = await aiohttp_client(create_app(off, workers=False))
    far = await client.get("/healthz", headers={"Host": "khaacho.example.com"})
    assert "Strict-Transport-Security" not in far.headers


@pytest.fixture
async def impatient(wa_settings, aiohttp_server):  # type: ignore[no-untyped-def]
    """The app served as `khaacho serve` serves it, with short patience for slow clients."""
    settings = wa_settings.model_copy(update={
        "http_idle_timeout_seconds": 0.3, "http_body_timeout_seconds": 0.3})
    return await aiohttp_server(create_app(settings, workers=False), **server_options(settings))


async def _trickle(server, head: bytes, drip: bytes, drops: int = 200) -> tuple[int, bytes]:  # type: ignore[no-untyped-def]
    """Send `head`, then `drip` every 50 ms up to `drops` times while the server listens;
    return how many drips went out before it hung up, and what it answered."""
    reader, writer = await asyncio.open_connection(server.host, server.port)
    answer = asyncio.create_task(reader.read())
    writer.write(head)
    sent = 0
    try:
        while sent < drops and not answer.done():
            await asyncio.sleep(0.05)
            writer.write(drip)
            await writer.drain()
            sent += 1
    except ConnectionError:
        pass
    try:
        return sent, await asyncio.wait_for(answer, 10)
    finally:
        writer.close()


async def test_a_client_sending_headers_slowly_is_cut_off(impatient):
    sent, answer = await _trickle(impatient, b"GET /healthz HTTP/1.1\r\nHost: x\r\n",
                                  b"X-Slow: 1\r\n")
    assert sent < 200 and answer == b""  # hung up on, before the headers were done


async def test_a_client_sending_a_body_slowly_is_answered_408_and_cut_off(impatient):
    head = (b"POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n"
            b"X-Hub-Signature-256: sha256=00\r\n\r\n")
    sent, answer = await _trickle(impatient, head, b"{")
    assert sent < 200 and answer.startswith(b"HTTP/1.1 408"), answer[:40]


async def test_a_prompt_client_is_served_with_those_timeouts(impatient, aiohttp_client):
    client = await aiohttp_client(impatient)
    for _ in range(3):  # keep-alive: one connection, several requests
        assert (await client.get("/healthz")).status == 200
    assert (await post_webhook(client, b"{not json")).status == 200


async def test_metrics_without_a_token_are_for_this_machine_only(
        wa_settings, aiohttp_server, aiohttp_client):
    app = create_app(wa_settings, workers=False)
    local = await aiohttp_client(app)
    assert (await local.get("/metrics")).status == 200
    server = await aiohttp_server(create_app(wa_settings, workers=False),
                                  host=non_loopback_address())
    remote = await aiohttp_client(server)
    response = await remote.get("/metrics")
    assert response.status == 403 and "METRICS_TOKEN" in (await response.json())["error"]


async def test_metrics_with_a_token_need_it_from_everyone(wa_settings, aiohttp_server,
                                                          aiohttp_client):
    settings = wa_settings.model_copy(update={"metrics_token": SecretStr("s3cret-scrape")})
    local = await aiohttp_client(create_app(settings, workers=False))
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret-scrape"}):
        response = await local.get("/metrics", headers=headers)
        assert response.status == 401, headers
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    good = {"Authorization": "Bearer s3cret-scrape"}
    assert (await local.get("/metrics", headers=good)).status == 200
    server = await aiohttp_server(create_app(settings, workers=False),
                                  host=non_loopback_address())
    remote = await aiohttp_client(server)
    response = await remote.get("/metrics", headers=good)
    assert response.status == 200 and "khaacho_outbox_depth" in await response.text()


async def test_a_scrape_needs_no_database_connection(start_app):
    client = await start_app(workers=False)
    pool = client.app[POOL]
    held = [await pool.acquire() for _ in range(pool.get_max_size())]
    try:
        response = await asyncio.wait_for(client.get("/metrics"), 10)
        assert response.status == 200 and "khaacho_outbox_depth" in await response.text()
    finally:
        for conn in held:
            await pool.release(conn)


def _settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_settings_name_what_is_missing_from_a_half_configuration():
    assert _settings().serve_problems() == []
    assert _settings(simulator_enabled=True).serve_problems() == []
    full = {"whatsapp_access_token": TOKEN, "whatsapp_phone_number_id": PHONE_NUMBER_ID,
            "whatsapp_app_secret": "s", "whatsapp_verify_token": "v"}
    assert _settings(**full).serve_problems() == []
    [problem] = _settings(**{**full, "whatsapp_access_token": ""}).serve_problems()
    assert "missing WHATSAPP_ACCESS_TOKEN (set:" in problem
    [problem] = _settings(whatsapp_app_secret="s").serve_problems()
    missing, given = problem.split("(set:")
    for name in ("WHATSAPP_ACCESS_TOKEN", "WHATSAPP_PHONE_NUMBER_ID", "WHATSAPP_VERIFY_TOKEN"):
        assert name in missing and name not in given
    assert "WHATSAPP_APP_SECRET" in given
    [problem] = _settings(**full, simulator_enabled=True).serve_problems()
    assert "SIMULATOR_ENABLED" in problem


async def _serve(env: dict[str, str]) -> tuple[int, str]:
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("WHATSAPP_", "SIMULATOR_"))}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "serve", "--port", "1", cwd=ROOT,
        env={**clean, "LOG_LEVEL": "WARNING", "DATABASE_URL": "postgresql://unused/none", **env},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return process.returncode, err.decode()


async def test_serve_refuses_to_start_half_configured_and_says_what_is_missing():
    code, err = await _serve({"WHATSAPP_APP_SECRET": "s", "WHATSAPP_VERIFY_TOKEN": "v",
                              "WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID})
    assert code == 2
    assert "missing WHATSAPP_ACCESS_TOKEN (set:" in err and err.count("\n") == 1, err


async def test_serve_refuses_the_simulator_next_to_whatsapp():
    code, err = await _serve({"WHATSAPP_APP_SECRET": "s", "WHATSAPP_VERIFY_TOKEN": "v",
                              "WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID,
                              "WHATSAPP_ACCESS_TOKEN": TOKEN, "SIMULATOR_ENABLED": "true"})
    assert code == 2 and "SIMULATOR_ENABLED" in err, err
