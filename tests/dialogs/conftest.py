"""Whole conversations through POST /webhook: people are phones that send signed Meta payloads
and read what the fake Graph API received for them."""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import pytest

from bot import demo
from tests.conftest import eventually, post_webhook
from tests.fakegraph import FakeGraph, body_text, fixture

ADMIN, OPERATOR = "9779800000001", "9779800000002"
BHERI, KARNALI, SURKHET = "9779810000001", "9779810000002", "9779810000003"
RAM, SITA, HARI = "9779820000001", "9779820000002", "9779820000003"


def _payload(sender: str, wamid: str, message: dict[str, Any]) -> dict[str, Any]:
    payload = copy.deepcopy(fixture("message_text"))
    value = payload["entry"][0]["changes"][0]["value"]
    value["contacts"][0].update(wa_id=sender, user_id=f"NP.{sender}")
    value["contacts"][0]["profile"]["name"] = f"Profile {sender[-4:]}"
    base = value["messages"][0]
    value["messages"][0] = {"from": sender, "from_user_id": f"NP.{sender}", "id": wamid,
                            "timestamp": base["timestamp"], **message}
    return payload


@dataclass
class Sent:
    """One message the bot sent: its words and the ids of its buttons or list rows."""

    text: str
    choices: list[str]
    raw: dict[str, Any]


@dataclass
class World:
    client: Any
    graph: FakeGraph
    pool: asyncpg.Pool
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    read: dict[str, int] = field(default_factory=dict)

    def phone(self, wa_id: str) -> Phone:
        return Phone(self, wa_id)

    async def settle(self) -> None:
        """Wait until every stored message is handled and every reply has reached the fake API."""
        async def done() -> bool:
            async with self.pool.acquire() as conn:
                row = await conn.fetchrow(
                    """SELECT (SELECT count(*) FROM inbound_messages
                               WHERE handled_at IS NULL) AS todo,
                              (SELECT count(*) FROM outbox WHERE status = 'pending') AS pending,
                              (SELECT count(*) FROM outbox WHERE status = 'sent') AS sent""")
            return row["todo"] == 0 and row["pending"] == 0 and len(self.graph.sent) >= row["sent"]
        await eventually(done, 10)

    def new_for(self, wa_id: str) -> list[Sent]:
        mine = [m for m in self.graph.sent if m.get("to", m.get("recipient")) == wa_id]
        start = self.read.get(wa_id, 0)
        self.read[wa_id] = len(mine)
        return [Sent(body_text(m), _choices(m), m) for m in mine[start:]]


def _choices(message: dict[str, Any]) -> list[str]:
    interactive = message.get("interactive") or {}
    action = interactive.get("action") or {}
    if interactive.get("type") == "button":
        return [b["reply"]["id"] for b in action["buttons"]]
    if interactive.get("type") == "list":
        return [r["id"] for s in action["sections"] for r in s["rows"]]
    return []


@dataclass
class Phone:
    world: World
    wa_id: str

    async def say(self, text: str) -> list[Sent]:
        """Send a text; return what the bot sent to this phone because of it."""
        wamid = f"wamid.T{next(self.world.ids):05d}"
        await self._post(_payload(self.wa_id, wamid, {"type": "text", "text": {"body": text}}))
        return self.inbox()

    async def tap(self, choice_id: str, title: str = "ok") -> list[Sent]:
        """Tap a reply button (or a list row, when the id starts with pick:)."""
        wamid = f"wamid.T{next(self.world.ids):05d}"
        kind = "list_reply" if choice_id.startswith("product:pick:") else "button_reply"
        interactive = {"type": kind, kind: {"id": choice_id, "title": title}}
        await self._post(_payload(self.wa_id, wamid, {"type": "interactive",
                                                      "interactive": interactive}))
        return self.inbox()

    async def _post(self, payload: dict[str, Any]) -> None:
        response = await post_webhook(self.world.client, payload)
        assert response.status == 200
        await self.world.settle()

    def inbox(self) -> list[Sent]:
        """What the bot sent to this phone since it last looked."""
        return self.world.new_for(self.wa_id)


def text_of(sent: list[Sent]) -> str:
    return "\n---\n".join(s.text for s in sent)


@pytest.fixture
async def world(client, graph, pool) -> World:  # type: ignore[no-untyped-def]
    async with pool.acquire() as conn:
        await demo.load(conn)
    return World(client, graph, pool)
