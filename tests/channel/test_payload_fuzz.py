"""Any body Meta (or anyone with the secret) could send is read without an unexpected exception,
item by item: everything kept can be stored by PostgreSQL, and nothing vanishes unaccounted."""

from __future__ import annotations

import asyncio
import json
import math
import re
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.store import store_webhook
from bot.whatsapp import MAX_DEPTH, PayloadError, Reading, read_body, read_webhook, user_input
from ledger import db

# Strings PostgreSQL cannot store (NUL, lone surrogates) and others that are merely odd.
hostile_text = st.one_of(
    st.text(max_size=20),
    st.text(alphabet=st.sampled_from(["\x00", "\ud800", "\udfff", "\ud83d", "a", "9", "\x07",
                                      "\u202e", "🙏", "\ufeff", '"', "\\"]), max_size=8),
    st.sampled_from(["", "9779822222222", "abc", "+9779822222222", "0123456789",
                     "wamid.\x00X", "NP.1234567890123456"]),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | hostile_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["entry", "changes", "value", "messages", "statuses", "contacts", "id",
                         "from", "from_user_id", "type", "text", "body", "status", "errors",
                         "code", "timestamp", "interactive", "button_reply", "wa_id", "user_id",
                         "profile", "name"]) | hostile_text,
        inner, max_size=5),
    max_leaves=30,
)


def _object(keys: list[str]) -> st.SearchStrategy[dict]:  # type: ignore[type-arg]
    return st.dictionaries(st.sampled_from(keys), json_values | hostile_text, max_size=6)


senders = st.sampled_from(["9779822222222", "9779833333333"]) | hostile_text
# Close to what Meta sends, so that most are kept and their odd strings reach PostgreSQL.
near_message = st.builds(
    lambda wamid, sender, body, when, extra: {
        "id": wamid, "from": sender, "type": "text", "timestamp": when, "text": {"body": body},
        **extra},
    st.sampled_from(["wamid.A", "wamid.B", "wamid.C"]) | hostile_text, senders, hostile_text,
    st.integers() | hostile_text, st.dictionaries(hostile_text, json_values, max_size=2))
near_contact = st.builds(lambda sender, name: {"wa_id": sender, "profile": {"name": name}},
                         senders, hostile_text)
message_like = near_message | _object(
    ["id", "from", "from_user_id", "type", "text", "interactive", "timestamp"])
status_like = _object(["id", "status", "recipient_id", "errors"]) | st.builds(
    lambda i, s, code: {"id": i, "status": s, "errors": [{"code": code, "title": i}]},
    hostile_text, st.sampled_from(["sent", "delivered", "read", "failed", "deleted"]),
    st.integers())
shaped = st.builds(
    lambda messages, statuses, contacts: {"entry": [{"changes": [{"value": {
        "messages": messages, "statuses": statuses, "contacts": contacts}}]}]},
    st.lists(message_like | json_values, max_size=3),
    st.lists(status_like | json_values, max_size=3),
    st.lists(near_contact | _object(["wa_id", "user_id", "profile"]) | json_values, max_size=2),
)

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(value: Any) -> bool:
    """What PostgreSQL text and jsonb accept: no NUL, no lone surrogate, finite numbers."""
    if isinstance(value, str):
        return not _UNSTORABLE.search(value)
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(storable(k) and storable(v) for k, v in value.items())
    if isinstance(value, list):
        return all(storable(v) for v in value)
    return True


def items(payload: Any, key: str) -> int:
    """How many message or status items the body holds, walking Meta's shape."""
    def dicts(value: Any) -> list[dict]:  # type: ignore[type-arg]
        return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []

    return sum(len(change["value"][key]) for entry in dicts(payload.get("entry"))
               for change in dicts(entry.get("changes"))
               if isinstance(change.get("value"), dict)
               and isinstance(change["value"].get(key), list))


def check(reading: Reading) -> None:
    for message in reading.messages:
        assert message.wamid.isprintable() and len(message.wamid) <= 256
        assert message.sender
        assert message.wa_id is None or re.fullmatch(r"[1-9][0-9]{7,14}", message.wa_id)
        for field in (message.wamid, message.wa_id, message.wa_user_id, message.profile_name,
                      message.kind, message.body):
            assert storable(field), field
        said = user_input(message.kind, message.body)
        assert isinstance(said.text, str)
    for status in reading.statuses:
        assert status.status in ("sent", "delivered", "read", "failed")
        assert storable(status.wamid) and storable(status.recipient)
        assert storable(status.error_title)
        assert status.error_code is None or -(2**31) <= status.error_code < 2**31
    for item in reading.quarantined:
        assert isinstance(item.raw, bytes) and item.reason


@settings(max_examples=400, deadline=None)
@given(json_values | shaped)
def test_any_json_is_read_item_by_item_or_refused_cleanly(payload):
    try:
        reading = read_webhook(payload)
    except PayloadError:
        return
    check(reading)
    kinds = [q.kind for q in reading.quarantined]
    # Every message is kept or quarantined; statuses may also be skipped (ones we do not track).
    assert len(reading.messages) + kinds.count("message") == items(payload, "messages")
    assert len(reading.statuses) + kinds.count("status") <= items(payload, "statuses")


def _nest(depth: int, inner: str) -> str:
    return "[" * depth + inner + "]" * depth


bodies = st.one_of(
    st.builds(lambda p: json.dumps(p).encode(), shaped),
    # Deep nesting inside one message, or around the whole body.
    st.builds(lambda p, d: json.dumps(p).replace('"messages": [', '"messages": ['
                                                 + _nest(d, "1") + ", ", 1).encode(),
              shaped, st.integers(0, 3000)),
    st.builds(lambda p, d: _nest(d, json.dumps(p)).encode(), shaped, st.integers(0, 12000)),
    # Lone surrogates written raw (not escaped) are not UTF-8; numbers JSON or Python refuse.
    st.builds(lambda p: json.dumps(p, ensure_ascii=False).encode("utf-8", "surrogatepass"),
              shaped),
    st.builds(lambda p, n: json.dumps(p).replace("null", n).encode(), shaped,
              st.sampled_from(["NaN", "-Infinity", "1e999", "9" * 5000, "[" * 70, "{"])),
    st.binary(max_size=200),
)


@settings(max_examples=300, deadline=None)
@given(bodies)
def test_any_signed_body_is_read_without_raising(body):
    reading = read_body(body)
    check(reading)
    body_items = [q for q in reading.quarantined if q.kind == "body"]
    assert len(body_items) <= 1
    if body_items and not body_items[0].reason.startswith("unreadable parts outside"):
        assert body_items[0].raw == body  # not JSON, or not Meta's shape: kept byte for byte


def test_depth_is_bounded_however_deep_the_body():
    reading = read_body(_nest(MAX_DEPTH * 1000, '{"entry": []}').encode())
    assert [q.kind for q in reading.quarantined] == ["body"]


async def _store(url: str, body: bytes) -> tuple[Reading, int, int]:
    conn = await db.connect(url)
    try:
        transaction = conn.transaction()
        await transaction.start()
        try:
            reading = read_body(body)
            await store_webhook(conn, reading.messages, reading.statuses, reading.quarantined)
            kept = await conn.fetchval("SELECT count(*) FROM inbound_messages")
            quarantined = await conn.fetchval("SELECT count(*) FROM webhook_quarantine")
            return reading, kept, quarantined
        finally:
            await transaction.rollback()  # each example starts from an empty database
    finally:
        await conn.close()


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=bodies)
def test_postgres_stores_whatever_the_reader_keeps(database_url, body):
    reading, kept, quarantined = asyncio.run(_store(database_url, body))
    assert kept == len({m.wamid for m in reading.messages})
    # Nothing the reader kept was refused by the database (that would add quarantined items).
    assert quarantined == len({(q.kind, q.raw) for q in reading.quarantined})
