"""Message retention: inbound and outbound message rows past their age move to archive tables.

Migration 026 made `inbound_messages_archive` and `outbox_archive`, the same columns plus
`archived_at`. A round moves at most `batch` rows of each table, oldest first, in one
transaction: outbound rows first (sent or failed, not being sent), then inbound rows (handled,
and answered by no outbox row left behind). Rows another process has locked are skipped, so two
processes archiving at once move each row once. The ledger and the orders are never touched;
documents (statement PDFs) only archived messages named are deleted, since their bytes were
sent and the statement can be made again from the ledger.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

DEFAULT_BATCH = 5000


@dataclass(frozen=True)
class Archived:
    outbox: int
    inbound: int
    documents: int

    @property
    def total(self) -> int:
        return self.outbox + self.inbound


async def _columns(conn: asyncpg.Connection, table: str) -> str:
    names = await conn.fetch(
        """SELECT attname FROM pg_attribute
           WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum""",
        table)
    return ", ".join(f'"{r["attname"]}"' for r in names)


async def archive_round(conn: asyncpg.Connection, older_than: datetime, *,
                        batch: int = DEFAULT_BATCH) -> Archived:
    """Move at most `batch` outbox rows and `batch` inbound rows written before `older_than`."""
    if batch < 1:
        raise ValueError("batch must be at least 1")
    async with conn.transaction():
        outbox_cols = await _columns(conn, "outbox")
        inbound_cols = await _columns(conn, "inbound_messages")
        moved = await conn.fetchrow(
            f"""WITH gone AS (
                    DELETE FROM outbox WHERE id IN (
                        SELECT id FROM outbox
                        WHERE created_at < $1 AND status <> 'pending' AND sending_since IS NULL
                        ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED)
                    RETURNING *),
                kept AS (
                    INSERT INTO outbox_archive ({outbox_cols})
                    SELECT {outbox_cols} FROM gone RETURNING document_id)
                SELECT count(*) AS n,
                       array_agg(DISTINCT document_id) FILTER (WHERE document_id IS NOT NULL)
                           AS documents
                FROM kept""",
            older_than, batch)
        assert moved is not None
        dropped = 0
        if moved["documents"]:
            dropped = len(await conn.fetch(
                """DELETE FROM outbox_documents d WHERE d.id = ANY($1::bigint[])
                   AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.document_id = d.id)
                   RETURNING id""", moved["documents"]))
        inbound = int(await conn.fetchval(
            f"""WITH gone AS (
                    DELETE FROM inbound_messages WHERE id IN (
                        SELECT i.id FROM inbound_messages i
                        WHERE i.received_at < $1 AND i.handled_at IS NOT NULL
                          AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.inbound_id = i.id)
                        ORDER BY i.received_at LIMIT $2 FOR UPDATE SKIP LOCKED)
                    RETURNING *),
                kept AS (
                    INSERT INTO inbound_messages_archive ({inbound_cols})
                    SELECT {inbound_cols} FROM gone RETURNING 1)
                SELECT count(*) FROM kept""",
            older_than, batch))
    return Archived(outbox=int(moved["n"]), inbound=inbound, documents=dropped)


async def archive(conn: asyncpg.Connection, older_than: datetime, *,
                  batch: int = DEFAULT_BATCH, rounds: int | None = None) -> Archived:
    """Rounds of `archive_round` until one moves nothing (or `rounds` have run): the CLI's
    catch-up; each round commits on its own, so locks are held one batch at a time."""
    total = Archived(0, 0, 0)
    done = 0
    while rounds is None or done < rounds:
        got = await archive_round(conn, older_than, batch=batch)
        done += 1
        total = Archived(total.outbox + got.outbox, total.inbound + got.inbound,
                         total.documents + got.documents)
        if got.total == 0:
            break
    return total
