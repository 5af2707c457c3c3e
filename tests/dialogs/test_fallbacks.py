"""Help and cancel work in every state of every dialog, in the user's language."""

from __future__ import annotations

import pytest

from dialogs import admin, registration, retailer, vendor
from tests.dialogs.conftest import ADMIN, KARNALI, SITA, text_of

STRANGER = "9779845454545"

# Who talks to each dialog, and the data a conversation in each state holds.
PEOPLE = {"registration": STRANGER, "retailer": SITA, "vendor": KARNALI, "admin": ADMIN}
DATA = {
    ("retailer", "resolving"): {"lines": [], "unknown": [], "order_id": None, "questions": [
        {"text": "dal", "quantity": "2", "unit": "kg", "reason": "generic",
         "candidates": ["DAL-RAHAR", "DAL-MAS"]}]},
    ("retailer", "reviewing"): {"lines": [], "questions": [], "unknown": [], "order_id": None},
    ("retailer", "editing"): {"lines": [], "questions": [], "unknown": [], "order_id": None},
    ("vendor", "rejecting"): {"number": "KH-000009"},
    ("admin", "reason"): {"pending": "limit", "retailer_id": 1, "amount_paisa": 100},
}
HELP_WORDS = ("Khaacho", "खाचो", "Sorry, this number cannot order")
# A vendor asked why they reject hears the order stays theirs ("not rejected").
CANCEL_WORDS = ("cancel", "cannot order", "nothing", "रद्द", "केही छैन", "not rejected",
                "अस्वीकार गरिएन", "dropped", "छोडियो")


async def _put(world, dialog: str, state: str) -> None:
    async with world.pool.acquire() as conn:
        user_id = await conn.fetchval("SELECT id FROM users WHERE wa_id = $1", PEOPLE[dialog])
        await conn.execute(
            """INSERT INTO conversations (user_id, dialog, state, data, language_asked)
               VALUES ($1, $2, $3, $4, true)
               ON CONFLICT (user_id) DO UPDATE SET dialog = $2, state = $3, data = $4""",
            user_id, dialog, state, DATA.get((dialog, state), {}))
        if dialog == "registration":
            status = {"blocked": "BLOCKED", "waiting": "PENDING"}.get(state, "STARTED")
            await conn.execute("UPDATE registrations SET status = $2, decided_at = "
                               "CASE WHEN $2 = 'BLOCKED' THEN now() END WHERE user_id = $1",
                               user_id, status)
            await conn.execute("UPDATE users SET language = 'en' WHERE id = $1", user_id)


async def _state(world, dialog: str) -> str:
    async with world.pool.acquire() as conn:
        return await conn.fetchval(
            """SELECT c.state FROM conversations c JOIN users u ON u.id = c.user_id
               WHERE u.wa_id = $1""",
            PEOPLE[dialog])


@pytest.mark.parametrize("module", [registration, retailer, vendor, admin],
                         ids=lambda m: m.TABLE.name)
async def test_help_and_cancel_answer_in_every_state(world, module):
    table = module.TABLE
    phone = world.phone(PEOPLE[table.name])
    if table.name == "registration":
        await phone.say("hello")  # creates the stranger
    for state in table.states:
        await _put(world, table.name, state)
        helped = text_of(await phone.say("help"))
        assert any(w in helped for w in HELP_WORDS), (state, helped)
        assert await _state(world, table.name) == state, state

        await _put(world, table.name, state)
        cancelled = text_of(await phone.say("cancel"))
        assert any(w in cancelled for w in CANCEL_WORDS), (state, cancelled)
        after = await _state(world, table.name)
        assert after in (table.initial, state), (state, after)
        if state not in ("start", "blocked"):
            assert after == table.initial, (state, after)


async def test_help_and_cancel_in_nepali_too(world):
    ram = world.phone("9779820000001")
    assert "खाचो" in text_of(await ram.say("मद्दत"))
    await ram.say("chini 1 bora")
    assert "रद्द गरियो" in text_of(await ram.say("रद्द"))
