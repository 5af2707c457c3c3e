"""Whatever anyone types, every dialog answers politely and never raises: random text, commands
with bad arguments, Devanagari, emoji and control characters, for each role."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot import demo
from dialogs import router
from dialogs.io import Event
from ledger import db, users
from tests.dialogs.conftest import ADMIN, KARNALI, OPERATOR, RAM

WORDS = ["chini", "chamal", "2", "bora", "accept", "reject", "paid", "dispatch", "deliver",
         "KH-000001", "KH-999999", "limit", "approve", "block", "add", "retailer", "vendor",
         "stock", "price", "override", "statement", "report", "9820000001", "-5", "0", "1e9",
         "ho", "hoina", "cancel", "रद्द", "हो", "बाँकी", "चामल", "२", "बोरा", "🙏", "\x07", "'", ";",
         "DROP TABLE users", "%s", "{{ 7*7 }}", "\n", "thap", "hatau", "nepali", "english"]

messages = st.one_of(
    st.text(max_size=200),
    st.lists(st.sampled_from(WORDS), min_size=1, max_size=8).map(" ".join),
)


@pytest.fixture
async def people(pool) -> dict[str, int]:  # type: ignore[no-untyped-def]
    async with pool.acquire() as conn:
        await demo.load(conn)
        found = {}
        for wa_id in (RAM, KARNALI, ADMIN, OPERATOR):
            user = await users.by_phone(conn, "+" + wa_id)
            assert user is not None
            found[wa_id] = user.id
    return found


async def _answer(url: str, wa_id: str, text: str, choice: str | None) -> list[str]:
    conn = await db.connect(url)
    try:
        transaction = conn.transaction()
        await transaction.start()
        try:
            user = await users.by_address(conn, wa_id, None)
            assert user is not None and user.active, "the demo world is loaded"
            event = Event(inbound_id=0, address=wa_id, wa_id=wa_id, wa_user_id=None,
                          profile_name=None, user=user, text=text, choice_id=choice,
                          supported=True, received_at=datetime.now(UTC))
            return [reply.template for reply in (await router.respond(conn, event)).replies]
        finally:
            await transaction.rollback()  # each example starts from the same world
    finally:
        await conn.close()


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=messages, who=st.sampled_from([RAM, KARNALI, ADMIN, OPERATOR]),
       choice=st.one_of(st.none(), st.text(max_size=40),
                        st.sampled_from(["order:confirm:1", "order:accept:KH-000001",
                                         "product:pick:SUGAR", "lang:xx", "user:approve:999"])))
def test_every_dialog_answers_anything_without_raising(database_url, people, text, who, choice):
    templates = asyncio.run(_answer(database_url, who, text.replace("\x00", ""), choice))
    assert templates, (who, text, choice)
