"""The outbound service: replies addressed to users, rendered in each one's language, queued in
the caller's transaction (a rollback queues nothing)."""

from __future__ import annotations

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
