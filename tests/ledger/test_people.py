"""The people services every surface shares: adding users, deciding registrations, language,
remembered choices — each checking the actor's rights, audited, and taken once."""

from __future__ import annotations

import pytest

from ledger import choices, credit, registrations, users
from ledger.errors import AlreadyDone, NotPermitted, RoleChangeBlocked, RoleConflict, UnknownUser
from tests.ledger.conftest import World, phone


async def _audited(conn, action: str) -> int:  # type: ignore[no-untyped-def]
    return int(await conn.fetchval("SELECT count(*) FROM audit_log WHERE action = $1", action))


async def _stranger(conn, name: str = "Kale"):  # type: ignore[no-untyped-def]
    wa_id = phone().lstrip("+")
    user = await registrations.first_contact(conn, wa_id=wa_id, wa_user_id=None,
                                             profile_name=name, language="ne")
    for field, value in (("name", name), ("shop", f"{name} Store"), ("area", "Chhinchu")):
        await registrations.answer(conn, user.id, field, value)  # type: ignore[arg-type]
    await registrations.submit(conn, user.id)
    return user


async def test_staff_add_retailers_and_vendors_and_each_addition_is_audited(conn, world: World):
    added = await users.add(conn, world.operator, phone=phone(), name="New Shop",
                            role="RETAILER")
    assert added.active and added.role == "RETAILER"
    assert (await registrations.get(conn, added.id)).status == "APPROVED"  # type: ignore[union-attr]
    assert await _audited(conn, "user.add") == 1


@pytest.mark.parametrize("who", ["retailer", "vendor"])
async def test_only_staff_add_people(conn, world: World, who: str):
    with pytest.raises(NotPermitted):
        await users.add(conn, getattr(world, who), phone=phone(), name="X", role="RETAILER")


async def test_only_admins_add_operators_or_set_a_limit_while_adding(conn, world: World):
    with pytest.raises(NotPermitted):
        await users.add(conn, world.operator, phone=phone(), name="Op", role="OPERATOR")
    with pytest.raises(NotPermitted):
        await users.add(conn, world.operator, phone=phone(), name="Shop", role="RETAILER",
                        credit_limit_paisa=100_000)
    op = await users.add(conn, world.admin, phone=phone(), name="Op", role="OPERATOR")
    assert op.role == "OPERATOR"
    shop = await users.add(conn, world.admin, phone=phone(), name="Shop", role="RETAILER",
                           credit_limit_paisa=100_000)
    assert (await credit.position(conn, shop.id)).limit_paisa == 100_000


async def test_adding_never_changes_the_role_of_someone_already_here(conn, world: World):
    for target, role in ((world.admin, "RETAILER"), (world.retailer, "VENDOR"),
                         (world.vendor, "RETAILER")):
        with pytest.raises(RoleConflict):
            await users.add(conn, world.operator, phone=target.phone, name="Taken",  # type: ignore[arg-type]
                            role=role)  # type: ignore[arg-type]
        after = await users.by_id(conn, target.id)
        assert after == target  # role, name and activity unchanged
    with pytest.raises(AlreadyDone):  # the same role: nothing of theirs is overwritten
        await users.add(conn, world.operator, phone=world.retailer.phone,  # type: ignore[arg-type]
                        name="Ram", role="RETAILER")
    assert await users.by_id(conn, world.retailer.id) == world.retailer
    assert (await users.shop(conn, world.retailer.id)).shop_name == "Ram Kirana"  # type: ignore[union-attr]


async def test_adding_a_stranger_who_wrote_in_approves_them_in_the_role_given(conn, world: World):
    stranger = await _stranger(conn)
    added = await users.add(conn, world.operator, phone=stranger.phone, name="Kale",  # type: ignore[arg-type]
                            role="VENDOR")
    assert added.id == stranger.id and added.active and added.role == "VENDOR"


async def test_approval_applies_once_and_only_to_an_undecided_registration(conn, world: World):
    stranger = await _stranger(conn)
    approved = await registrations.approve(conn, stranger.id, world.operator)
    assert approved.active and approved.role == "RETAILER" and approved.name == "Kale"
    assert (await users.shop(conn, stranger.id)).shop_name == "Kale Store"  # type: ignore[union-attr]
    with pytest.raises(AlreadyDone):
        await registrations.approve(conn, stranger.id, world.operator)
    with pytest.raises(AlreadyDone):  # an active vendor is not "approved" into a retailer
        await registrations.approve(conn, world.vendor.id, world.operator)
    assert (await users.by_id(conn, world.vendor.id)) == world.vendor
    assert await _audited(conn, "user.approve") == 1


async def test_block_then_unblock_gives_back_exactly_what_was_there(conn, world: World):
    await credit.set_limit(conn, world.retailer.id, 123_400, world.admin, "trusted")
    for person in (world.vendor, world.retailer):
        blocked = (await registrations.block(conn, person.id, world.operator, "late")).user
        assert not blocked.active and blocked.role == person.role
        with pytest.raises(AlreadyDone):
            await registrations.block(conn, person.id, world.operator)
        back = await registrations.unblock(conn, person.id, world.operator)
        assert back == person
    assert (await credit.position(conn, world.retailer.id)).limit_paisa == 123_400
    assert await _audited(conn, "user.block") == 2 and await _audited(conn, "user.unblock") == 2
    with pytest.raises(AlreadyDone):
        await registrations.unblock(conn, world.vendor.id, world.operator)


async def test_a_stranger_blocked_while_registering_waits_again_when_unblocked(conn, world: World):
    stranger = await _stranger(conn)
    await registrations.block(conn, stranger.id, world.operator)
    back = await registrations.unblock(conn, stranger.id, world.operator)
    assert not back.active
    assert (await registrations.get(conn, stranger.id)).status == "PENDING"  # type: ignore[union-attr]


async def test_staff_decide_about_others_only_admins_about_staff(conn, world: World):
    with pytest.raises(NotPermitted):
        await registrations.block(conn, world.admin.id, world.operator)
    with pytest.raises(NotPermitted):
        await registrations.block(conn, world.operator.id, world.operator)  # not yourself
    with pytest.raises(NotPermitted):
        await registrations.block(conn, world.retailer2.id, world.retailer)
    with pytest.raises(NotPermitted):
        await registrations.approve(conn, (await _stranger(conn)).id, world.vendor)
    with pytest.raises(NotPermitted):
        await registrations.pending(conn, world.retailer)
    with pytest.raises(UnknownUser):
        await registrations.block(conn, 10**12, world.admin)
    blocked = await registrations.block(conn, world.operator.id, world.admin)
    assert not blocked.user.active


async def test_pending_lists_registrations_waiting_oldest_first(conn, world: World):
    first, second = await _stranger(conn, "Kale"), await _stranger(conn, "Gore")
    waiting = await registrations.pending(conn, world.operator)
    assert [r.user_id for r in waiting] == [first.id, second.id]
    assert await registrations.count_pending(conn) == 2


async def test_language_and_remembered_choices_are_kept_per_person(conn, world: World):
    await users.set_language(conn, world.retailer.id, "en")
    assert (await users.by_id(conn, world.retailer.id)).language == "en"  # type: ignore[union-attr]
    await choices.remember(conn, world.retailer.id, "  Chamal ", "CHAMAL")
    await choices.remember(conn, world.retailer.id, "chamal", "CHINI")  # the latest choice wins
    assert await choices.remembered(conn, world.retailer.id) == {"chamal": "CHINI"}
    assert await choices.remembered(conn, world.retailer2.id) == {}


async def test_staff_ids_and_shops_are_read_by_one_service(conn, world: World):
    assert await users.staff_ids(conn) == [world.admin.id, world.operator.id]
    shop = await users.shop(conn, world.vendor.id)
    assert shop is not None and shop.shop_name == "Himal Traders"
    assert await users.shop(conn, world.admin.id) is None
    assert await users.by_public_id(conn, world.vendor.phone) == world.vendor  # type: ignore[arg-type]
    assert await users.by_public_id(conn, str(world.vendor.id)) == world.vendor


async def test_changing_a_role_is_an_admins_audited_act_that_strands_nothing(conn, world: World):
    from tests.ledger.conftest import line
    from tests.ledger.helpers import accepted_order

    with pytest.raises(NotPermitted):
        await users.change_role(conn, world.operator, world.retailer2.id, "VENDOR", "wholesale")
    with pytest.raises(NotPermitted):
        await users.change_role(conn, world.admin, world.admin.id, "RETAILER", "me")
    await accepted_order(conn, world.retailer, world.vendor, [line("TEL", 1)])
    for busy in (world.retailer, world.vendor):  # an open order and money on account
        with pytest.raises(RoleChangeBlocked) as refused:
            await users.change_role(conn, world.admin, busy.id, "OPERATOR", "promoted")
        assert refused.value.params["open_orders"] == 1
        assert (await users.by_id(conn, busy.id)) == busy
    changed = await users.change_role(conn, world.admin, world.retailer2.id, "VENDOR",
                                      "now sells wholesale")
    assert changed.role == "VENDOR"
    assert (await users.shop(conn, changed.id)).shop_name == "Sita Store"  # type: ignore[union-attr]
    with pytest.raises(AlreadyDone):
        await users.change_role(conn, world.admin, changed.id, "VENDOR", "again")
    assert await _audited(conn, "user.role") == 1


async def test_a_blocked_shop_gets_no_new_credit_from_any_service(conn, world: World):
    from ledger import orders
    from ledger.errors import RetailerBlocked
    from tests.ledger.conftest import line

    draft = await orders.create_draft(conn, world.retailer, [line("TEL", 1)])
    offered = await orders.confirm(conn, draft.id, world.retailer)
    await conn.execute("UPDATE users SET active = false WHERE id = $1", world.retailer.id)
    with pytest.raises(RetailerBlocked):  # blocked between confirmation and acceptance
        await orders.accept(conn, offered.order.id, world.vendor)
    with pytest.raises(RetailerBlocked):
        await credit.override_order(conn, offered.order.id, world.admin, "festival")
    with pytest.raises(RetailerBlocked):
        await orders.create_draft(conn, world.retailer, [line("TEL", 1)])


async def test_blocking_settles_open_orders_and_says_which(conn, world: World):
    from ledger import orders
    from tests.ledger.conftest import line
    from tests.ledger.helpers import accepted_order

    accepted = await accepted_order(conn, world.retailer, world.vendor, [line("TEL", 1)])
    draft = await orders.create_draft(conn, world.retailer, [line("CHAMAL", 2)])
    offered = (await orders.confirm(conn, draft.id, world.retailer)).order
    done = await registrations.block(conn, world.retailer.id, world.operator, "unpaid")
    assert [o.number for o in done.cancelled] == [offered.number]
    assert [o.number for o in done.kept] == [accepted.number]
    assert (await orders.get(conn, offered.id)).status == "CANCELLED"
    assert (await orders.get(conn, accepted.id)).status == "ACCEPTED"  # goods are committed


async def test_blocking_a_vendor_passes_its_open_offers_on(conn, world: World):
    from ledger import orders
    from tests.ledger.conftest import line

    draft = await orders.create_draft(conn, world.retailer, [line("CHINI", 1)])
    offered = (await orders.confirm(conn, draft.id, world.retailer)).order
    assert offered.vendor_id == world.vendor2.id  # the cheaper sugar
    done = await registrations.block(conn, world.vendor2.id, world.operator)
    [outcome] = done.passed_on
    assert outcome.kind == "offered" and outcome.vendor_id == world.vendor.id


async def test_a_vendor_moved_to_another_role_is_offered_nothing(conn, world: World):
    from ledger import orders
    from tests.ledger.conftest import line

    await users.change_role(conn, world.admin, world.vendor.id, "RETAILER", "stopped selling")
    draft = await orders.create_draft(conn, world.retailer, [line("CHINI", 1)])
    offered = (await orders.confirm(conn, draft.id, world.retailer)).order
    assert offered.vendor_id == world.vendor2.id
    from ledger import pricing
    assert not (await pricing.quote(conn, [line("TEL", 1)])).fillable  # only it had oil
