"""The webhook quarantine: signed items we could not read, kept raw with the reason.

Nothing Meta signed is dropped or retried forever: the readable part of a body is handled, the
rest lands here for operators (`recent`, and `khaacho_webhook_quarantined` on /metrics).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from bot.whatsapp import Quarantined

MAX_REASON = 300
PREVIEW_CHARS = 500
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


@dataclass(frozen=True)
class Entry:
    id: int
    kind: str
    reason: str
    raw: bytes
    received_at: datetime

    @property
    def preview(self) -> str:
        """The start of the raw item as text, undecodable bytes shown as escapes."""
        return self.raw[:PREVIEW_CHARS].decode("utf-8", "backslashreplace").replace("\x00", "\\0")


def storable_reason(reason: str) -> str:
    """A reason fit for a text column whatever produced it."""
    return _UNSTORABLE.sub("\ufffd", reason)[:MAX_REASON] or "unreadable"


async def save(conn: asyncpg.Connection, items: Sequence[Quarantined]) -> int:
    """Keep `items` in the caller's transaction; return how many were not already kept."""
    new = 0
    for item in items:
        digest = hashlib.sha256(item.kind.encode() + b"\n" + item.raw).digest()
        row = await conn.fetchval(
            """INSERT INTO webhook_quarantine (kind, reason, raw, digest)
               VALUES ($1, $2, $3, $4) ON CONFLICT (digest) DO NOTHING RETURNING id""",
            item.kind, storable_reason(item.reason), item.raw, digest)
        new += row is not None
    return new


async def recent(conn: asyncpg.Connection, limit: int = 50) -> list[Entry]:
    """The most recently quarantined items, newest first (at most 1,000)."""
    rows = await conn.fetch(
        """SELECT id, kind, reason, raw, received_at FROM webhook_quarantine
           ORDER BY id DESC LIMIT $1""", max(1, min(limit, 1000)))
    return [Entry(r["id"], r["kind"], r["reason"], bytes(r["raw"]), r["received_at"])
            for r in rows]


async def count(conn: asyncpg.Connection) -> int:
    total: int = await conn.fetchval("SELECT count(*) FROM webhook_quarantine")
    return total
