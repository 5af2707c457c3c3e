"""The README's examples, said as it says them: each gets the reply it promises, not a shrug."""

from __future__ import annotations

import pytest

from tests.dialogs.conftest import ADMIN, KARNALI, RAM, SITA, text_of

SHRUGS = ("did not understand", "बुझिनँ", "Write it like", "यसरी लेख्नुहोस्")


def _understood(reply: str) -> bool:
    return bool(reply) and not any(s in reply for s in SHRUGS)


@pytest.mark.parametrize("text", [
    "chini 1 bora, nun 10 packet", "मन्सुली चामल २ बोरा",
    "dai, 5 carton wai wai chicken ra 2 bora mansuli pathaidinu hola",
    "chini ko rate kati ho?", "चिनी छ?", "pahile jastai", "status", "baki", "history",
    "history all", "score", "mero score",
])
async def test_a_retailers_examples_are_understood(world, text):
    ram = world.phone(RAM)
    await ram.say("namaste")
    assert _understood(text_of(await ram.say(text))), text


async def test_the_retailers_edit_examples_change_the_draft(world):
    sita = world.phone(SITA)
    await sita.say("chini 1 bora, nun 10 packet")
    assert "2 bora" in text_of(await sita.say("chini 1 bora thap"))
    assert "Salt" not in (await sita.say("nun hatau"))[-1].text
    assert "Sugar — 2 bora" in text_of(await sita.say("chini 2 bora"))
    assert "KH-000001" in text_of(await sita.say("ho"))
    assert "KH-000001" in text_of(await sita.say("cancel KH-000001"))


async def test_a_vendors_and_an_admins_examples_are_understood(world):
    sita, karnali, admin = world.phone(SITA), world.phone(KARNALI), world.phone(ADMIN)
    await sita.say("chini 1 bora")
    await sita.say("ho")
    await karnali.say("namaste")
    for text in ("orders", "accept KH-000001", "dispatch KH-000001", "deliver KH-000001",
                 "paid KH-000001 500", "paid 9820000002 500 esewa", "stock chini 100",
                 "stock chini 20 bora", "price chini 115", "price chini 5600 bora",
                 "score 9820000002"):
        assert _understood(reply := text_of(await karnali.say(text))), (text, reply)
    for text in ("pending", "report", "statement 9820000002", "score 9820000002",
                 "limit 9820000002 50000 trusted",
                 "block 9820000003 late", "unblock 9820000003", "suggestions", "sujhav"):
        assert _understood(reply := text_of(await admin.say(text))), (text, reply)
