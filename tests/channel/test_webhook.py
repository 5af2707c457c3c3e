"""The webhook contract: handshake, signatures, payload validation, durable idempotent storage."""

from __future__ import annotations

import copy
import io
import json

from tests.conftest import VERIFY_TOKEN, post_webhook, sign
from tests.fakegraph import fixture


def text_message(wamid: str, body: str, sender: str = "9779822222222") -> dict:
    payload = copy.deepcopy(fixture("message_text"))
    message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    message.update(id=wamid, **{"from": sender})
    message["text"]["body"] = body
    payload["entry"][0]["changes"][0]["value"]["contacts"][0]["wa_id"] = sender
    return payload


async def test_verify_handshake_echoes_the_challenge(client):
    response = await client.get("/webhook", params={
        "hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"})
    assert response.status == 200
    assert await response.text() == "1158201444"


async def test_verify_handshake_refuses_a_wrong_token_or_mode(client):
    for params in (
        {"hub.mode": "subscribe", "hub.verify_token": "nope", "hub.challenge": "1"},
        {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"},
        {},
    ):
        response = await client.get("/webhook", params=params)
        assert response.status == 403, params


async def test_missing_signature_is_401_and_nothing_is_stored(client, pool):
    body = json.dumps(text_message("wamid.NOSIG", "hi")).encode()
    response = await client.post("/webhook", data=body)
    assert response.status == 401
    assert "error" in await response.json()
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM inbound_messages") == 0


async def test_wrong_signature_is_403(client, pool):
    body = json.dumps(text_message("wamid.BADSIG", "hi")).encode()
    for header in (sign(body, "another-secret"), "sha256=", "md5=abc", sign(body + b" ")):
        response = await client.post("/webhook", data=body, headers={"X-Hub-Signature-256": header})
        assert response.status == 403, header
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM inbound_messages") == 0


async def test_devanagari_and_emoji_bodies_verify_raw_or_escaped(client, pool):
    payload = fixture("message_text_devanagari")
    raw = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    assert "चामल".encode() in raw or "नमस्ते".encode() in raw or b"\xe0\xa4" in raw
    response = await post_webhook(client, raw)
    assert response.status == 200
    escaped = copy.deepcopy(payload)
    escaped["entry"][0]["changes"][0]["value"]["messages"][0]["id"] = "wamid.ESCAPED"
    escaped["entry"][0]["changes"][0]["value"]["messages"][0]["text"]["body"] += " 🙏"
    body = json.dumps(escaped, ensure_ascii=True).encode()
    assert b"\\u" in body
    response = await post_webhook(client, body)
    assert response.status == 200
    async with pool.acquire() as conn:
        texts = [r["body"]["text"]["body"] for r in
                 await conn.fetch("SELECT body FROM inbound_messages ORDER BY id")]
    assert len(texts) == 2 and texts[1].endswith("🙏")
    assert any("\u0900" <= ch <= "\u097f" for ch in texts[0])


async def test_a_signed_body_that_is_not_json_is_acknowledged_and_quarantined(client, pool):
    # A 4xx would make Meta send the same bytes again for days: keep them for operators instead.
    for body in (b"{not json", b'["an", "array"]'):
        response = await post_webhook(client, body)
        assert response.status == 200
    async with pool.acquire() as conn:
        kept = await conn.fetch("SELECT kind, raw FROM webhook_quarantine ORDER BY id")
        assert await conn.fetchval("SELECT count(*) FROM inbound_messages") == 0
    assert [(r["kind"], r["raw"]) for r in kept] == [
        ("body", b"{not json"), ("body", b'["an", "array"]')]


async def test_a_body_over_3_mb_is_413(client):
    body = b'{"entry": [], "pad": "' + b"x" * (3 * 1024 * 1024) + b'"}'
    response = await client.post("/webhook", data=io.BytesIO(body), headers={
        "X-Hub-Signature-256": sign(body), "Content-Length": str(len(body))})
    assert response.status == 413
    assert "error" in await response.json()


async def test_a_batch_stores_every_message_and_status(client, pool):
    response = await post_webhook(client, fixture("batch_two_messages_one_status"))
    assert response.status == 200
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM inbound_messages") == 2
        assert await conn.fetchval("SELECT count(*) FROM message_statuses") == 1


async def test_a_redelivered_message_is_acknowledged_and_handled_once(client, pool, graph):
    from tests.conftest import eventually

    payload = text_message("wamid.REDELIVERED", "help")
    for _ in range(3):
        response = await post_webhook(client, payload)
        assert response.status == 200
    await eventually(lambda: len(graph.sent) >= 1)
    async with pool.acquire() as conn:
        await eventually(lambda: conn.fetchval(
            "SELECT handled_at IS NOT NULL FROM inbound_messages "
            "WHERE wamid = 'wamid.REDELIVERED'"))
        assert await conn.fetchval("SELECT count(*) FROM inbound_messages") == 1
        assert await conn.fetchval("SELECT count(*) FROM outbox") == 1
    assert len(graph.sent) == 1


async def test_statuses_never_move_backwards(client, pool):
    def status(name: str) -> dict:
        payload = copy.deepcopy(fixture(f"status_{name}"))
        payload["entry"][0]["changes"][0]["value"]["statuses"][0]["id"] = "wamid.OUT1"
        return payload

    for name in ("read", "delivered", "sent"):  # late and out of order
        assert (await post_webhook(client, status(name))).status == 200
    async with pool.acquire() as conn:
        assert await conn.fetchval(
            "SELECT status FROM message_statuses WHERE wamid = 'wamid.OUT1'") == "read"
    assert (await post_webhook(client, status("failed_131047"))).status == 200
    async with pool.acquire() as conn:
        row = await conn.fetchrow("SELECT * FROM message_statuses WHERE wamid = 'wamid.OUT1'")
    assert (row["status"], row["error_code"]) == ("failed", 131047)


async def test_control_characters_and_nul_in_a_text_are_stored_not_refused(client, pool):
    payload = text_message("wamid.NUL", "chini\u0000 1 bora\x07")
    assert (await post_webhook(client, payload)).status == 200
    async with pool.acquire() as conn:
        body = await conn.fetchval("SELECT body FROM inbound_messages WHERE wamid = 'wamid.NUL'")
    assert body["text"]["body"] == "chini 1 bora\x07"
