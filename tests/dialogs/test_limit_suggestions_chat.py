"""Suggested credit limits in chat: staff list them ("suggestions", "sujhav") and tap Approve or
Dismiss; the shop hears its new limit; a second tap, a stale one, or one by a vendor changes
nothing."""

from __future__ import annotations

import asyncpg

from ledger import credit, users
from tests.dialogs.conftest import ADMIN, BHERI, OPERATOR, RAM, SITA, text_of


async def _suggest(pool: asyncpg.Pool, phone: str, suggested_paisa: int) -> int:
    """A suggestion as the daily review leaves it (the review itself: tests/ledger)."""
    async with pool.acquire() as conn:
        retailer = await users.by_phone(conn, f"+{phone}")
        assert retailer is not None
        current = (await credit.position(conn, retailer.id)).limit_paisa
        return int(await conn.fetchval(
            """INSERT INTO limit_suggestions (retailer_id, current_limit_paisa,
                   suggested_limit_paisa, score, band, monthly_purchases_paisa, why, day,
                   details)
               VALUES ($1, $2, $3, 712, 'B', $3, 'purchases', current_date,
                       '{"multiplier_percent": 100}') RETURNING id""",
            retailer.id, current, suggested_paisa))


async def _limit(pool: asyncpg.Pool, phone: str) -> int:
    async with pool.acquire() as conn:
        retailer = await users.by_phone(conn, f"+{phone}")
        assert retailer is not None
        return (await credit.position(conn, retailer.id)).limit_paisa


async def test_an_operator_lists_and_approves_a_suggested_limit_with_a_tap(world):
    operator, ram = world.phone(OPERATOR), world.phone(RAM)
    before = await _limit(world.pool, RAM)
    suggestion = await _suggest(world.pool, RAM, before + 20_000_00)
    listed = await operator.say("suggestions")
    assert "Suggested credit limits waiting" in text_of(listed)
    offer = listed[-1]
    assert offer.choices == [f"limit:approve:{suggestion}", f"limit:dismiss:{suggestion}"]
    done = text_of(await operator.tap(offer.choices[0], "Approve"))
    assert await _limit(world.pool, RAM) == before + 20_000_00
    assert "712" in done or "७१२" in done
    told = text_of(ram.inbox())
    assert "credit limit is now" in told or "उधारो सीमा अब" in told
    again = text_of(await operator.tap(offer.choices[0], "Approve"))
    assert "already" in again or "पहिल्यै" in again
    assert ram.inbox() == []


async def test_a_tap_after_the_limit_changed_or_by_a_vendor_changes_nothing(world):
    admin, bheri = world.phone(ADMIN), world.phone(BHERI)
    before = await _limit(world.pool, SITA)
    suggestion = await _suggest(world.pool, SITA, before + 10_000_00)
    await bheri.tap(f"limit:approve:{suggestion}", "Approve")
    assert await _limit(world.pool, SITA) == before
    await admin.say(f"limit {SITA[3:]} 12345 talked to them")
    assert await _limit(world.pool, SITA) == 12345_00
    stale = text_of(await admin.tap(f"limit:approve:{suggestion}", "Approve"))
    assert "Nothing changed" in stale or "केही बदलिएन" in stale
    assert await _limit(world.pool, SITA) == 12345_00
    # Still waiting (the stale tap changed nothing): "sujhav" offers it again.
    listed = await admin.say("sujhav")
    assert listed[-1].choices == [f"limit:approve:{suggestion}", f"limit:dismiss:{suggestion}"]
    gone = text_of(await admin.tap(f"limit:dismiss:{suggestion}", "Dismiss"))
    assert "Dismissed" in gone or "हटाइयो" in gone
