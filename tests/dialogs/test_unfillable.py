"""No order is "placed" that no vendor can fill: the draft says what is short before confirming,
and offers to take what there is or drop it."""

from __future__ import annotations

from tests.dialogs.conftest import RAM, SITA, text_of


async def test_a_line_nobody_has_enough_of_is_shown_with_what_is_available(world):
    sita = world.phone(SITA)
    draft = (await sita.say("chini 20 bora, nun 2 packet"))[-1]  # 1,000 kg; vendors hold 500
    assert "No vendor can fill" in draft.text and "at most 500 kg" in draft.text, draft.text
    assert "Vendor:" not in draft.text
    take, drop, cancel = draft.choices
    assert take.startswith("order:take:") and drop.startswith("order:drop:")
    refused = text_of(await sita.say("yes"))  # confirming anyway places nothing
    assert "No vendor can fill" in refused and "placed" not in refused
    async with world.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM orders WHERE status <> 'DRAFT'") == 0
    taken = (await sita.tap(take))[-1]
    assert "Sugar — 10 bora (500 kg)" in taken.text and "Confirm" in str(taken.raw)
    assert "KH-" in text_of(await sita.tap(taken.choices[0]))


async def test_dropping_the_short_lines_keeps_the_rest(world):
    ram = world.phone(RAM)
    draft = (await ram.say("chini 20 bora, nun 2 packet"))[-1]
    assert "बढीमा ५०० केजी मात्र उपलब्ध" in draft.text, draft.text
    dropped = (await ram.tap(draft.choices[1]))[-1]
    assert "चिनी" not in dropped.text and "नुन" in dropped.text
    assert dropped.choices[0].startswith("order:confirm:")
