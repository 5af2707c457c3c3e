"""The first outcome of an API request made with an Idempotency-Key, kept per user.

`claim` runs first in the request's transaction: it inserts the key (a concurrent request with
the same key waits on the unique index until this one commits, then sees its outcome), or finds
the outcome kept before. `record` keeps the outcome in the same transaction as the writes it
reports, so a retry returns exactly what the first request did, and never half of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from ledger.errors import IdempotencyConflict

MAX_KEY = 200
# A retry comes within minutes or hours; a week covers a client that was down for days.
KEPT = timedelta(days=7)
FORGET_BATCH = 1000


@dataclass(frozen=True)
class Kept:
    status: int
    body: bytes


async def claim(
    conn: asyncpg.Connection, user_id: int, key: str, request_hash: bytes
) -> int | Kept:
    """The new row's id to `record` into, or the outcome kept for this key. The same key with
    another request (method, path or body) is `IdempotencyConflict`."""
    if not 1 <= len(key) <= MAX_KEY:
        raise ValueError("an idempotency key is 1 to 200 characters")
    new_id = await conn.fetchval(
        """INSERT INTO api_idempotency (user_id, key, request_hash) VALUES ($1, $2, $3)
           ON CONFLICT (user_id, key) DO NOTHING RETURNING id""", user_id, key, request_hash)
    if new_id is not None:
        return int(new_id)
    row = await conn.fetchrow(
        "SELECT request_hash, status, body FROM api_idempotency WHERE user_id = $1 AND key = $2",
        user_id, key)
    assert row is not None and row["status"] is not None  # committed rows carry an outcome
    if bytes(row["request_hash"]) != request_hash:
        raise IdempotencyConflict(key=key)
    return Kept(int(row["status"]), bytes(row["body"]))


async def record(conn: asyncpg.Connection, claim_id: int, status: int, body: bytes) -> None:
    await conn.execute("UPDATE api_idempotency SET status = $2, body = $3 WHERE id = $1",
                       claim_id, status, body)


async def forget_old(conn: asyncpg.Connection, now: datetime) -> int:
    """Forget outcomes older than KEPT (a batch at a time; the periodic jobs call it): a key
    may then be used again. Returns how many."""
    status = await conn.execute(
        """DELETE FROM api_idempotency WHERE id IN (
               SELECT id FROM api_idempotency WHERE created_at < $1 ORDER BY id LIMIT $2
               FOR UPDATE SKIP LOCKED)""", now - KEPT, FORGET_BATCH)
    return int(status.split()[-1])
