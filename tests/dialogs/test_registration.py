"""A stranger registers (name, shop, area), waits, and is approved by an operator."""

from __future__ import annotations

from tests.dialogs.conftest import ADMIN, OPERATOR, text_of

STRANGER = "9779845454545"


async def test_a_stranger_registers_and_is_approved_then_can_order(world):
    stranger, operator, admin = world.phone(STRANGER), world.phone(OPERATOR), world.phone(ADMIN)
    first = await stranger.say("hello")
    assert "register" in first[0].text and first[0].choices == ["lang:set:ne", "lang:set:en"]
    assert "shop" in text_of(await stranger.say("Shyam Thapa"))
    assert "area" in text_of(await stranger.say("Shyam Kirana Pasal"))
    assert "operator" in text_of(await stranger.say("Birendranagar-4"))
    request = operator.inbox()
    assert len(request) == 1 and "Shyam Kirana Pasal" in request[0].text
    assert "Birendranagar-4" in admin.inbox()[0].text
    approve = request[0].choices[0]
    assert approve.startswith("user:approve:")

    waiting = await stranger.say("chini 1 bora")
    assert "waiting" in text_of(waiting)

    done = await operator.tap(approve, "Approve")
    assert "approved" in text_of(done)
    assert "limit +9779845454545 50000" in text_of(done)  # a new shop has no credit until set
    assert "Welcome to Khaacho, Shyam Thapa" in text_of(stranger.inbox())

    draft = await stranger.say("chini 1 bora")
    assert "Sugar" in text_of(draft) and "Total" in text_of(draft)


async def test_a_stranger_writing_nepali_is_answered_in_nepali_and_can_switch(world):
    stranger = world.phone(STRANGER)
    assert "दर्ता" in text_of(await stranger.say("नमस्ते"))
    switched = await stranger.tap("lang:set:en", "English")
    assert "English" in switched[0].text and "name" in switched[-1].text


async def test_a_blocked_stranger_is_told_politely_and_nothing_else_happens(world):
    stranger, operator = world.phone(STRANGER), world.phone(OPERATOR)
    await stranger.say("hi")
    await stranger.say("Kale")
    await stranger.say("Kale Store")
    await stranger.say("Chhinchu")
    block = operator.inbox()[0].choices[1]
    assert "blocked" in text_of(await operator.tap(block, "Block"))
    assert "cannot order" in text_of(await stranger.say("chini 1 bora"))
    assert "cannot order" in text_of(await stranger.say("help"))


async def test_a_second_tap_on_approve_repeats_nothing(world):
    stranger, operator, admin = world.phone(STRANGER), world.phone(OPERATOR), world.phone(ADMIN)
    for text in ("hi", "Kale", "Kale Store", "Chhinchu"):
        await stranger.say(text)
    approve = operator.inbox()[0].choices[0]
    assert approve == "user:approve:+9779845454545"
    await operator.tap(approve, "Approve")
    assert "Welcome" in text_of(stranger.inbox())
    again = text_of(await admin.tap(approve, "Approve"))  # the same button, in another chat
    assert "already approved" in again
    assert stranger.inbox() == []  # no second welcome


async def test_staff_roles_survive_add_block_and_unblock_by_chat(world):
    operator, admin = world.phone(OPERATOR), world.phone(ADMIN)
    refused = text_of(await operator.say("add retailer +9779800000001 Admin Pasal"))
    assert "already here as" in refused
    assert "Today" in text_of(await admin.say("report"))  # still the admin
    karnali = world.phone("9779810000002")
    assert "blocked" in text_of(await operator.say("block 9810000002 late"))
    assert "unblocked" in text_of(await operator.say("unblock 9810000002"))
    assert "खुला अर्डर छैन" in text_of(await karnali.say("orders"))  # a vendor's command works


async def test_an_admin_changes_a_role_by_chat_and_the_person_gets_that_dialog(world):
    admin, operator, hari = world.phone(ADMIN), world.phone(OPERATOR), world.phone("9779820000003")
    assert "not" in text_of(await operator.say("role 9820000003 vendor wholesale now")).lower()
    changed = text_of(await admin.say("role 9820000003 vendor sells wholesale now"))
    assert "is now" in changed
    assert "stock" in text_of(await hari.say("help")).lower()  # the vendor's commands
    assert "Write it like" in text_of(await admin.say("role 9820000003 bogus x"))


async def test_a_newly_approved_shop_starts_with_the_starter_limit_and_can_order(world):
    stranger, operator = world.phone(STRANGER), world.phone(OPERATOR)
    for text in ("hello", "Shyam Thapa", "Shyam Kirana Pasal", "Birendranagar-4"):
        await stranger.say(text)
    await operator.tap(operator.inbox()[0].choices[0], "Approve")
    welcome = text_of(stranger.inbox())
    assert "credit up to Rs 10,000" in welcome, welcome
    await stranger.say("chini 1 bora")
    placed = text_of(await stranger.say("yes"))
    assert "KH-" in placed and "limit" not in placed.lower()


async def test_a_stranger_without_a_profile_name_is_never_greeted_by_their_number(world):
    import copy

    from tests.conftest import post_webhook
    from tests.fakegraph import fixture

    payload = copy.deepcopy(fixture("message_text"))
    value = payload["entry"][0]["changes"][0]["value"]
    del value["contacts"][0]["profile"]  # WhatsApp sends no name for some users
    value["contacts"][0]["wa_id"] = value["messages"][0]["from"] = STRANGER
    value["messages"][0]["text"]["body"] = "help"
    assert (await post_webhook(world.client, payload)).status == 200
    await world.settle()
    said = text_of(world.phone(STRANGER).inbox())
    assert said and STRANGER not in said and "+977" not in said, said


async def test_approval_waits_until_the_registration_is_complete(world):
    stranger, operator = world.phone(STRANGER), world.phone(OPERATOR)
    await stranger.say("hello")
    stranger.inbox()
    waiting = text_of(await operator.say("approve 9845454545"))
    assert "not finished registering" in waiting, waiting
    assert stranger.inbox() == []  # no welcome for someone who has not told us who they are
