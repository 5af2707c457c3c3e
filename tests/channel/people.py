"""Signed-webhook payloads from many distinct people (each their own wa_id and user id)."""

from __future__ import annotations

from typing import Any

from tests.channel.test_webhook import text_message


def phones(count: int) -> list[str]:
    return [f"97798{i:08d}" for i in range(count)]


def message_from(
    sender: str, wamid: str, body: str, timestamp: int | None = None
) -> dict[str, Any]:
    """A text from `sender`, sent at `timestamp` (seconds) when given."""
    payload = text_message(wamid, body, sender)
    value = payload["entry"][0]["changes"][0]["value"]
    value["contacts"][0]["user_id"] = f"NP.{sender}"
    message = value["messages"][0]
    message["from_user_id"] = f"NP.{sender}"
    if timestamp is not None:
        message["timestamp"] = str(timestamp)
    return payload
