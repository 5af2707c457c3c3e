"""Signed bodies that cannot be read, wholly or in part: every one is acknowledged with 200, the
good messages beside a bad item are stored and answered, and the bad item is quarantined raw."""

from __future__ import annotations

import copy
import json
import logging
from datetime import UTC, datetime
from typing import Any

from bot import quarantine
from bot.store import store_webhook
from bot.whatsapp import Inbound, StatusUpdate
from tests.channel.test_webhook import text_message
from tests.conftest import eventually, post_webhook, sign
from tests.fakegraph import fixture

GOOD_SENDER = "9779822222222"
BAD_SENDER = "9779833333333"


def with_bad_message(bad: dict[str, Any], contact: dict[str, Any] | None = None) -> dict:
    """A body with one good message (wamid.GOOD, 'help') and `bad` beside it."""
    payload = text_message("wamid.GOOD", "help", sender=GOOD_SENDER)
    value = payload["entry"][0]["changes"][0]["value"]
    value["messages"].append(bad)
    if contact is not None:
        value["contacts"].append(contact)
    return payload


def bad_text(**changes: Any) -> dict[str, Any]:
    message = {"from": BAD_SENDER, "id": "wamid.BAD", "timestamp": "1764064800",
               "type": "text", "text": {"body": "chini 1 bora"}}
    message.update(changes)
    return message


async def quarantined(pool) -> list[quarantine.Entry]:  # type: ignore[no-untyped-def]
    async with pool.acquire() as conn:
        return await quarantine.recent(conn)


async def assert_good_one_answered(pool, graph) -> None:  # type: ignore[no-untyped-def]
    await eventually(lambda: graph.texts_to(GOOD_SENDER))
    async with pool.acquire() as conn:
        senders = [r["sender"] for r in await conn.fetch("SELECT sender FROM inbound_messages")]
    assert senders == [GOOD_SENDER]


async def post_and_check(client, pool, graph, body: bytes, reason: str,  # type: ignore[no-untyped-def]
                         kind: str = "message") -> quarantine.Entry:
    response = await post_webhook(client, body)
    assert response.status == 200
    assert await response.json() == {"ok": True}
    await assert_good_one_answered(pool, graph)
    [entry] = await quarantined(pool)
    assert entry.kind == kind and reason in entry.reason, entry
    return entry


async def test_a_lone_surrogate_in_a_text_quarantines_that_message_only(client, pool, graph):
    body = json.dumps(with_bad_message(bad_text(text={"body": "chini \ud800 1 bora"}))).encode()
    assert b"\\ud800" in body  # as Meta would escape it
    entry = await post_and_check(client, pool, graph, body, "lone surrogate")
    assert b"\\ud800" in entry.raw and b"wamid.BAD" in entry.raw  # kept as it came


async def test_a_lone_surrogate_in_a_key_quarantines_that_message_only(client, pool, graph):
    body = json.dumps(with_bad_message(bad_text(**{"\udc00": 1}))).encode()
    await post_and_check(client, pool, graph, body, "lone surrogate (not a character) in a key")


async def test_a_lone_surrogate_in_a_wamid_quarantines_that_message_only(client, pool, graph):
    body = json.dumps(with_bad_message(bad_text(id="wamid.\ud83d"))).encode()
    await post_and_check(client, pool, graph, body, "lone surrogate")


async def test_a_lone_surrogate_in_a_profile_name_quarantines_that_message_only(
        client, pool, graph):
    contact = {"profile": {"name": "Ram \udfff"}, "wa_id": BAD_SENDER}
    body = json.dumps(with_bad_message(bad_text(), contact)).encode()
    await post_and_check(client, pool, graph, body, "contact: a lone surrogate")


async def test_a_nul_in_a_status_id_quarantines_that_status_only(client, pool, graph):
    payload = text_message("wamid.GOOD", "help", sender=GOOD_SENDER)
    status = copy.deepcopy(fixture("status_delivered")["entry"][0]["changes"][0]["value"])
    status["statuses"][0]["id"] = "wamid.\x00OUT1"
    payload["entry"].append({"id": "1", "changes": [{"value": status, "field": "messages"}]})
    entry = await post_and_check(client, pool, graph, json.dumps(payload).encode(),
                                 "status: id missing or unreadable", kind="status")
    assert b"wamid.\\u0000OUT1" in entry.raw
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM message_statuses") == 0


async def test_nesting_hundreds_deep_in_one_message_quarantines_it_only(client, pool, graph):
    good = json.dumps(with_bad_message(bad_text(context="DEEP")))
    deep = "[" * 400 + '"x"' + "]" * 400
    body = good.replace('"DEEP"', deep).encode()
    entry = await post_and_check(client, pool, graph, body, "nested deeper than 64 levels")
    assert deep.encode() in entry.raw  # the cut part is put back into what is kept


async def test_a_body_10000_deep_is_acknowledged_and_kept_whole(client, pool):
    body = b"[" * 10_000 + b"]" * 10_000
    response = await post_webhook(client, body)
    assert response.status == 200
    [entry] = await quarantined(pool)
    assert (entry.kind, entry.raw) == ("body", body)


async def test_good_messages_survive_a_10000_deep_entry_beside_them(client, pool, graph):
    good = json.dumps(text_message("wamid.GOOD", "help", sender=GOOD_SENDER))
    body = good.replace('"entry": [', '"entry": [' + "[" * 10_000 + "]" * 10_000 + ", ", 1)
    assert body != good
    await post_and_check(client, pool, graph, body.encode(),
                         "unreadable parts outside any message", kind="body")


async def test_numbers_postgres_or_python_cannot_hold_quarantine_their_message(
        client, pool, graph):
    for number in ("NaN", "Infinity", "-1e999", "1" * 5000):
        body = json.dumps(with_bad_message(bad_text(context="N", id=f"wamid.N{len(number)}")))
        await post_webhook(client, body.replace('"N"', number).encode())
    await assert_good_one_answered(pool, graph)
    reasons = sorted(e.reason for e in await quarantined(pool))
    assert len(reasons) == 4 and all(r.startswith("message: ") for r in reasons), reasons


async def test_a_signed_body_that_is_not_json_or_not_utf8_is_kept_and_acknowledged(client, pool):
    bodies = [b"{not json", b'["an", "array"]', b'{"entry": "nope"}', b"\xff\xfe{}", b""]
    for body in bodies:
        response = await post_webhook(client, body)
        assert response.status == 200, body
    kept = {e.raw: e for e in await quarantined(pool)}
    assert set(kept) == set(bodies)
    assert all(e.kind == "body" for e in kept.values())
    # Redelivered, the same body is acknowledged again and kept once.
    assert (await post_webhook(client, b"{not json")).status == 200
    assert len(await quarantined(pool)) == len(bodies)


async def test_unsigned_or_badly_signed_hostile_bodies_are_refused_and_never_kept(client, pool):
    body = b"[" * 10_000
    assert (await client.post("/webhook", data=body)).status == 401
    bad = await client.post("/webhook", data=body,
                            headers={"X-Hub-Signature-256": sign(body, "not-the-secret")})
    assert bad.status == 403
    assert await quarantined(pool) == []


async def test_a_sender_that_is_not_a_phone_number_is_refused_once_and_logged(
        client, pool, graph, caplog):
    caplog.set_level(logging.WARNING, logger="bot.webhook")
    for sender in ("abc", "+9779833333333", "0123456789", "97798", "9" * 16, ""):
        body = json.dumps(with_bad_message(bad_text(**{"from": sender}, id=f"wamid.S{sender}")))
        assert (await post_webhook(client, body.encode())).status == 200
    await assert_good_one_answered(pool, graph)  # nothing stored for the others: no retries
    reasons = {e.reason for e in await quarantined(pool)}
    assert reasons == {"message: sender 'from' is not a phone number"}
    assert len(await quarantined(pool)) == 6
    warnings = [r for r in caplog.records if "not a phone number" in r.getMessage()]
    assert len(warnings) == 6  # once per refused message


async def test_an_item_the_database_refuses_after_all_is_quarantined_not_fatal(pool):
    now = datetime.now(UTC)
    good = Inbound("wamid.OK", GOOD_SENDER, None, "Ram", "text",
                   {"type": "text", "text": {"body": "hi"}}, now)
    # Built by hand, past the reader: PostgreSQL refuses each of these.
    surrogate = Inbound("wamid.X1", BAD_SENDER, None, "Ram \ud800", "text", {}, now)
    nul = Inbound("wamid.X2", BAD_SENDER, None, None, "text", {"b": "\x00"}, now)
    huge = StatusUpdate("wamid.OUT", "failed", None, 10**20, None)
    async with pool.acquire() as conn:
        stored = await store_webhook(conn, [surrogate, good, nul], [huge])
        assert (stored.new, stored.quarantined) == (1, 3)
        assert await conn.fetchval("SELECT wamid FROM inbound_messages") == "wamid.OK"
        entries = await quarantine.recent(conn)
    assert len(entries) == 3 and all(e.reason.startswith("database refused it: ") for e in entries)
    assert {e.kind for e in entries} == {"message", "status"}


async def test_quarantine_count_shows_on_metrics(client):
    assert (await post_webhook(client, b"{not json")).status == 200

    async def counted() -> bool:
        text = await (await client.get("/metrics")).text()
        return ("khaacho_webhook_quarantine 1.0" in text
                and 'khaacho_webhook_quarantined_total{kind="body"}' in text)

    await eventually(counted)
