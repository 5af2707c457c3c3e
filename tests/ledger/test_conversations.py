"""Conversations are kept as the dialogs leave them; an idle one a turn did not change is not
written again, while one left mid-way is, so its last turn's time keeps its draft from expiring
(`stale`)."""

from __future__ import annotations

import asyncpg

from ledger import conversations
from tests.ledger.conftest import make_user


async def _row(conn: asyncpg.Connection, user_id: int) -> asyncpg.Record:
    return await conn.fetchrow(
        "SELECT state, data, version, updated_at FROM conversations WHERE user_id = $1", user_id)


async def test_an_idle_conversation_left_as_it_was_is_not_written_again(
        conn: asyncpg.Connection) -> None:
    ram = await make_user(conn, "RETAILER", "Ram")
    first = await conversations.load(conn, ram.id, "retailer", "idle")
    await conversations.save(conn, first)  # the first contact writes the row
    written = await _row(conn, ram.id)
    assert written["version"] == 1

    again = await conversations.load(conn, ram.id, "retailer", "idle")
    await conversations.save(conn, again)
    assert await _row(conn, ram.id) == written

    again.data["remembered"] = {"chamal": "CHAMAL-MANSULI"}  # changed in place
    await conversations.save(conn, again)
    assert (await _row(conn, ram.id))["version"] == 2
    assert (await _row(conn, ram.id))["data"] == {"remembered": {"chamal": "CHAMAL-MANSULI"}}
    await conversations.save(conn, again)  # saved, and unchanged since
    assert (await _row(conn, ram.id))["version"] == 2


async def test_a_conversation_left_mid_way_is_written_every_turn(conn: asyncpg.Connection) -> None:
    sita = await make_user(conn, "RETAILER", "Sita")
    asking = await conversations.load(conn, sita.id, "retailer", "idle")
    asking.state, asking.data = "ask", {"order_id": 7}
    await conversations.save(conn, asking)
    before = await _row(conn, sita.id)
    await conn.execute("UPDATE conversations SET updated_at = updated_at - interval '1 hour'")
    same = await conversations.load(conn, sita.id, "retailer", "idle")
    await conversations.save(conn, same)
    after = await _row(conn, sita.id)
    assert after["version"] == before["version"] + 1 and after["updated_at"] >= before["updated_at"]
