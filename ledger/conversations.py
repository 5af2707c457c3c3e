"""Where each person is in their dialog, loaded and saved inside the handling transaction.

The dialogs decide what a conversation holds; this module only keeps it.

The row is locked for the whole handling of one message, so two processes never continue the
same conversation at once; the version counts saves, which makes lost updates visible in tests.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import asyncpg

DialogName = Literal["registration", "retailer", "vendor", "admin"]

# A conversation's data is an id and a question or two; anything
# bigger is a bug (or someone pasting a novel into a draft).
MAX_DATA_BYTES = 64_000


@dataclass
class Conversation:
    user_id: int
    dialog: DialogName
    state: str
    data: dict[str, Any] = field(default_factory=dict)
    version: int = 0
    language_asked: bool = False
    new: bool = True  # no row yet: this is the person's first contact

    def reset(self, dialog: DialogName, state: str) -> None:
        """Start `dialog` afresh, forgetting whatever the last one held."""
        self.dialog, self.state, self.data = dialog, state, {}


async def load(
    conn: asyncpg.Connection, user_id: int, dialog: DialogName, initial: str
) -> Conversation:
    """The user's conversation, locked until the transaction ends; a fresh one if there is none
    or if it belongs to another dialog (the user's role changed)."""
    row = await conn.fetchrow(
        """SELECT dialog, state, data, version, language_asked FROM conversations
           WHERE user_id = $1 FOR UPDATE""",
        user_id,
    )
    if row is None:
        return Conversation(user_id, dialog, initial)
    conversation = Conversation(
        user_id, row["dialog"], row["state"], _decode(row["data"]), row["version"],
        row["language_asked"], new=False,
    )
    if conversation.dialog != dialog:
        conversation.reset(dialog, initial)
    return conversation


async def save(conn: asyncpg.Connection, conversation: Conversation) -> None:
    size = len(json.dumps(conversation.data, ensure_ascii=False).encode())
    if size > MAX_DATA_BYTES:
        raise ValueError(f"conversation data of user {conversation.user_id} is too big")
    await conn.execute(
        """INSERT INTO conversations (user_id, dialog, state, data, version, language_asked)
           VALUES ($1, $2, $3, $4, 1, $5)
           ON CONFLICT (user_id) DO UPDATE SET dialog = EXCLUDED.dialog,
               state = EXCLUDED.state, data = EXCLUDED.data,
               language_asked = EXCLUDED.language_asked,
               version = conversations.version + 1, updated_at = now()""",
        conversation.user_id, conversation.dialog, conversation.state, conversation.data,
        conversation.language_asked,
    )
    conversation.version += 1
    conversation.new = False


async def stale(
    conn: asyncpg.Connection, dialog: DialogName, before: datetime, limit: int
) -> list[Conversation]:
    """Conversations of `dialog` left mid-way (not idle) and untouched since `before`, oldest
    first, locked; rows another process holds are skipped, so each is taken once."""
    rows = await conn.fetch(
        """SELECT user_id, dialog, state, data, version, language_asked FROM conversations
           WHERE dialog = $1 AND state <> 'idle' AND updated_at <= $2
           ORDER BY updated_at LIMIT $3 FOR UPDATE SKIP LOCKED""",
        dialog, before, limit,
    )
    return [Conversation(r["user_id"], r["dialog"], r["state"], _decode(r["data"]), r["version"],
                         r["language_asked"], new=False) for r in rows]


def _decode(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        value = json.loads(value)
    return dict(value) if isinstance(value, dict) else {}
