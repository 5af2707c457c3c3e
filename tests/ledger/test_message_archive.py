"""Message retention (ledger.message_archive, migration 026): old message rows move to the
archive tables in batches; young ones, ones still in flight and every ledger row stay."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta

import asyncpg

from dialogs import jobs
from ledger import message_archive, orders, payments
from ledger.pricing import LineRequest
from tests.channel.test_cli import khaacho
from tests.ledger.conftest import World

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
OLD = NOW - timedelta(days=200)
YOUNG = NOW - timedelta(days=10)
CUTOFF = NOW - timedelta(days=180)
_ids = itertools.count(1)


async def inbound(conn: asyncpg.Connection, at: datetime, *, handled: bool = True) -> int:
    n = next(_ids)
    return int(await conn.fetchval(
        """INSERT INTO inbound_messages (wamid, sender, wa_id, kind, body, sent_at, received_at,
                                         handled_at)
           VALUES ($1, '9779800000001', '9779800000001', 'text', $2::jsonb, $3, $3, $4)
           RETURNING id""",
        f"wamid.test{n}", json.dumps({"type": "text", "text": {"body": f"msg {n}"}}), at,
        at + timedelta(seconds=1) if handled else None))


async def outbound(conn: asyncpg.Connection, at: datetime, *, status: str = "sent",
                   inbound_id: int | None = None, document_id: int | None = None,
                   sending: bool = False) -> int:
    return int(await conn.fetchval(
        """INSERT INTO outbox (recipient, payload, inbound_id, status, created_at, sent_at,
                               document_id, sending_since)
           VALUES ('9779800000001', '{"type": "text"}', $1, $2, $3, $4, $5, $6) RETURNING id""",
        inbound_id, status, at, at if status == "sent" else None, document_id,
        at if sending else None))


async def document(conn: asyncpg.Connection) -> int:
    return int(await conn.fetchval(
        """INSERT INTO outbox_documents (filename, mime_type, content)
           VALUES ('statement.pdf', 'application/pdf', '\\x25504446') RETURNING id"""))


async def ids(conn: asyncpg.Connection, table: str) -> set[int]:
    return {r["id"] for r in await conn.fetch(f"SELECT id FROM {table}")}


async def test_old_rows_move_young_and_in_flight_ones_and_the_ledger_stay(
        conn: asyncpg.Connection, world: World) -> None:
    # Some ledger: an order accepted and paid (entries, payments, transitions).
    order = await orders.create_draft(conn, world.retailer, [LineRequest("CHINI", 2000)])
    await orders.confirm(conn, order.id, world.retailer)
    offered = (await orders.get(conn, order.id)).vendor_id
    vendor = world.vendor if offered == world.vendor.id else world.vendor2
    await orders.accept(conn, order.id, vendor)
    await payments.record_for_order(conn, order.id, 1000, "cash", actor=vendor,
                                    idempotency_key="archive-test-pay")
    ledger_before = {t: await conn.fetchval(f"SELECT count(*) FROM {t}")
                     for t in ("ledger_entries", "payments", "orders", "order_transitions")}

    old_in = await inbound(conn, OLD)
    old_reply = await outbound(conn, OLD, inbound_id=old_in)
    old_failed = await outbound(conn, OLD, status="failed")
    young_in = await inbound(conn, YOUNG)
    young_reply = await outbound(conn, YOUNG, inbound_id=young_in)
    unhandled = await inbound(conn, OLD, handled=False)
    pending = await outbound(conn, OLD, status="pending")
    sending = await outbound(conn, OLD, status="pending", sending=True)
    # An old inbound message whose reply is still waiting: the reply holds it (foreign key).
    waiting_in = await inbound(conn, OLD)
    waiting_reply = await outbound(conn, OLD, status="pending", inbound_id=waiting_in)
    sent_doc, shared_doc = await document(conn), await document(conn)
    old_with_doc = await outbound(conn, OLD, document_id=sent_doc)
    old_shared = await outbound(conn, OLD, document_id=shared_doc)
    young_shared = await outbound(conn, YOUNG, document_id=shared_doc)

    moved = await message_archive.archive(conn, CUTOFF)

    assert (moved.outbox, moved.inbound, moved.documents) == (4, 1, 1)
    assert await ids(conn, "outbox_archive") == {old_reply, old_failed, old_with_doc, old_shared}
    assert await ids(conn, "inbound_messages_archive") == {old_in}
    assert await ids(conn, "outbox") == {young_reply, pending, sending, waiting_reply,
                                         young_shared}
    assert await ids(conn, "inbound_messages") == {young_in, unhandled, waiting_in}
    assert await ids(conn, "outbox_documents") == {shared_doc}
    # The rows moved whole.
    archived = await conn.fetchrow("SELECT * FROM inbound_messages_archive WHERE id = $1", old_in)
    assert archived["wamid"] and archived["received_at"] == OLD and archived["archived_at"]
    assert (await conn.fetchrow("SELECT inbound_id, status FROM outbox_archive WHERE id = $1",
                                old_reply))["inbound_id"] == old_in
    ledger_after = {t: await conn.fetchval(f"SELECT count(*) FROM {t}") for t in ledger_before}
    assert ledger_after == ledger_before

    # Idempotent: nothing more to move. Once the waiting reply is sent, its message goes too.
    again = await message_archive.archive(conn, CUTOFF)
    assert again.total == 0
    await conn.execute("UPDATE outbox SET status = 'sent', sent_at = $2 WHERE id = $1",
                       waiting_reply, OLD)
    last = await message_archive.archive(conn, CUTOFF)
    assert (last.outbox, last.inbound) == (1, 1)


async def test_a_round_moves_at_most_a_batch_oldest_first(conn: asyncpg.Connection) -> None:
    made = [await outbound(conn, OLD + timedelta(minutes=i)) for i in range(5)]
    made_in = [await inbound(conn, OLD + timedelta(minutes=i)) for i in range(5)]
    first = await message_archive.archive_round(conn, CUTOFF, batch=2)
    assert (first.outbox, first.inbound) == (2, 2)
    assert await ids(conn, "outbox_archive") == set(made[:2])
    assert await ids(conn, "inbound_messages_archive") == set(made_in[:2])
    rest = await message_archive.archive(conn, CUTOFF, batch=2)
    assert (rest.outbox, rest.inbound) == (3, 3)
    assert await ids(conn, "outbox") == set() and await ids(conn, "inbound_messages") == set()


async def test_the_archives_have_their_tables_columns(conn: asyncpg.Connection) -> None:
    async def columns(table: str) -> list[tuple[str, str]]:
        return [(r["attname"], r["type"]) for r in await conn.fetch(
            """SELECT attname, format_type(atttypid, atttypmod) AS type FROM pg_attribute
               WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped
               ORDER BY attnum""", table)]

    for table in ("inbound_messages", "outbox"):
        assert await columns(f"{table}_archive") == [
            *await columns(table), ("archived_at", "timestamp with time zone")]


async def test_the_periodic_job_archives_past_the_retention_only_when_set(
        conn: asyncpg.Connection) -> None:
    old = await outbound(conn, OLD)
    young = await outbound(conn, YOUNG)
    off = jobs.Timing(draft_ttl=timedelta(hours=1), offer_timeout=timedelta(minutes=30))
    assert await jobs.archive_messages(conn, NOW, off) == []
    assert await ids(conn, "outbox") == {old, young}
    on = jobs.Timing(draft_ttl=timedelta(hours=1), offer_timeout=timedelta(minutes=30),
                     message_retention=timedelta(days=180))
    assert await jobs.archive_messages(conn, NOW, on) == []
    assert await ids(conn, "outbox") == {young}
    assert any(j.run is jobs.archive_messages for j in jobs.JOBS)


async def test_khaacho_messages_archive(database_url: str, pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        now = datetime.now(UTC)
        old = await outbound(conn, now - timedelta(days=40))
        young = await outbound(conn, now - timedelta(days=5))
    code, out, err = await khaacho(database_url, "messages", "archive", "--days", "30")
    assert code == 0, err
    assert "archived 1 outbound and 0 inbound" in out
    async with pool.acquire() as conn:
        assert await ids(conn, "outbox") == {young}
        assert await ids(conn, "outbox_archive") == {old}
