"""Where each person is in their dialog, loaded and saved inside the handling transaction.

The dialogs decide what a conversation holds; this module only keeps it.

The row is locked for the whole handling of one message, so two processes never continue the
same conversation at once; the version counts saves, which makes lost updates visible in tests.
An idle conversation that a turn left as it found it is not written again (a vendor's tap on
Accept, a retailer asking their dues): only a conversation left mid-way needs the time of its
last turn, for `stale`.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import asyncpg

DialogName = Literal["registration", "retailer", "vendor", "admin"]

# A conversation's data is an id and a question or two; anything
# bigger is a bug (or someone pasting a novel into a draft).
MAX_DATA_BYTES = 64_000
IDLE = "idle"  # every dialog's resting state: nothing asked, nothing half-done


@dataclass
class Conversation:
    user_id: int
    dialog: DialogName
    state: str
    data: dict[str, Any] = field(default_factory=dict)
    version: int = 0
    language_asked: bool = False
    new: bool = True  # no row yet: this is the person's first contact
    # The row as loaded or last saved (see `_as_stored`); None while there is no row.
    stored: tuple[str, str, dict[str, Any], bool] | None = field(
        default=None, repr=False, compare=False)

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
    conversation.stored = _as_stored(conversation)
    if conversation.dialog != dialog:
        conversation.reset(dialog, initial)
    return conversation


async def save(conn: asyncpg.Connection, conversation: Conversation) -> None:
    size = len(json.dumps(conversation.data, ensure_ascii=False).encode())
    if size > MAX_DATA_BYTES:
        raise ValueError(f"conversation data of user {conversation.user_id} is too big")
    if conversation.state == IDLE and _as_stored(conversation) == conversation.stored:
        return
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
    conversation.stored = _as_stored(conversation)


async def stale(
    conn: asyncpg.Connection, dialog: DialogName, before: datetime, limit: int
) -> list[Conversation]:
    """Conversations of `dialog` left mid-way (not idle) and untouched since `before`, oldest
    first, locked; rows another process holds are skipped, so each is taken once."""
    rows = await conn.fetch(
        f"""SELECT user_id, dialog, state, data, version, language_asked FROM conversations
           WHERE dialog = $1 AND state <> '{IDLE}' AND updated_at <= $2
           ORDER BY updated_at LIMIT $3 FOR UPDATE SKIP LOCKED""",
        dialog, before, limit,
    )
    found = [Conversation(r["user_id"], r["dialog"], r["state"], _decode(r["data"]),
                          r["version"], r["language_asked"], new=False) for r in rows]
    for conversation in found:
        conversation.stored = _as_stored(conversation)
    return found


def _as_stored(c: Conversation) -> tuple[str, str, dict[str, Any], bool]:
    """What the row holds, to compare at save; the data copied, as dialogs change it in place."""
    return c.dialog, c.state, copy.deepcopy(c.data), c.language_asked


def _decode(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        value = json.loads(value)
    return dict(value) if isinstance(value, dict) else {}
