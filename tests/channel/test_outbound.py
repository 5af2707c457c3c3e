"""The outbound service: replies addressed to users, rendered in each one's language, queued in
the caller's transaction (a rollback queues nothing)."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from bot.outbound import Address, Outbound
from bot.store import payload_text
from ledger import users
from locales.render import Messages
from locales.replies import Reply
from tests.ledger.conftest import make_user


@pytest.fixture
def outbound(settings) -> Outbound:  # type: ignore[no-untyped-def]
    return Outbound(settings, Messages())


async def _queued(conn) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    rows = await conn.fetch("SELECT recipient, payload FROM outbox ORDER BY id")
    return [(r["recipient"], payload_text(r["payload"])) for r in rows]


async def test_each_reply_is_rendered_in_its_recipients_language(pool, outbound):
    async with pool.acquire() as conn:
        ram = await make_user(conn, "RETAILER", "Ram", language="ne")
        sita = await make_user(conn, "RETAILER", "Sita", language="en")
        await outbound.send(conn, [Reply("draft_expired", to_user_id=ram.id),
                                   Reply("draft_expired", to_user_id=sita.id)])
        (to_ram, nepali), (to_sita, english) = await _queued(conn)
    assert (to_ram, to_sita) == (ram.address, sita.address)
    assert "not confirmed in time" in english and "not confirmed" not in nepali


async def test_the_language_is_read_when_sending_so_a_switch_just_made_counts(pool, outbound):
    async with pool.acquire() as conn, conn.transaction():
        ram = await make_user(conn, "RETAILER", "Ram", language="ne")
        await users.set_language(conn, ram.id, "en")
        await outbound.send(conn, [Reply("draft_expired", to_user_id=ram.id)])
        assert "not confirmed in time" in (await _queued(conn))[0][1]


async def test_a_user_the_caller_knows_is_addressed_as_known_without_reading_their_row(
        pool, outbound):
    """A turn's sender, as the turn left them: their language switched in it is the one used,
    and their row is not read again for each reply. The replies are written in one statement."""
    statements: list[str] = []
    async with pool.acquire() as conn, conn.transaction():
        ram = await make_user(conn, "RETAILER", "Ram", language="ne")
        sita = await make_user(conn, "RETAILER", "Sita", language="ne")
        conn.add_query_logger(note := lambda logged: statements.append(logged.query))
        await outbound.send(conn, [Reply("draft_expired", to_user_id=ram.id)] * 2
                            + [Reply("draft_expired", to_user_id=sita.id)],
                            known=[dataclasses.replace(ram, language="en")])
        await asyncio.sleep(0)  # asyncpg tells its loggers on the loop's next turn
        conn.remove_query_logger(note)
        (_, first), (_, second), (_, to_sita) = await _queued(conn)
    assert "not confirmed in time" in first and "not confirmed in time" in second
    assert "not confirmed" not in to_sita  # Sita, not known, was read: Nepali
    assert sum("FROM users" in q for q in statements) == 1
    assert sum("INSERT INTO outbox" in q for q in statements) == 1


async def test_a_reply_with_no_recipient_goes_to_the_sender_and_needs_one(pool, outbound):
    async with pool.acquire() as conn:
        await outbound.send(conn, [Reply("unsupported")],
                            sender=Address("9779845454545", "en"))
        assert (await _queued(conn))[0][0] == "9779845454545"
        with pytest.raises(ValueError, match="no recipient"):
            await outbound.send(conn, [Reply("unsupported")])
        with pytest.raises(LookupError):
            await outbound.send(conn, [Reply("unsupported", to_user_id=10**12)])


async def test_nothing_is_queued_when_the_callers_transaction_rolls_back(pool, outbound):
    async with pool.acquire() as conn:
        ram = await make_user(conn, "RETAILER", "Ram")
        transaction = conn.transaction()
        await transaction.start()
        await outbound.send(conn, [Reply("draft_expired", to_user_id=ram.id)])
        await transaction.rollback()
        assert await _queued(conn) == []
