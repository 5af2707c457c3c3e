"""Vendors act only on their own orders, by button or text; admins set limits (the next big
order is refused), override one order, report and statements; other roles are refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dialogs import jobs
from locales.formats import money
from tests.dialogs.conftest import ADMIN, BHERI, HARI, KARNALI, OPERATOR, SITA, SURKHET, text_of


async def _place(phone, text: str) -> str:
    await phone.say(text)
    placed = text_of(await phone.say("yes" if phone.wa_id == SITA else "ho"))
    assert "KH-" in placed, placed
    return placed


async def test_reject_with_a_reason_passes_the_order_on_and_others_cannot_touch_it(world):
    sita, karnali, bheri, surkhet = (world.phone(p) for p in (SITA, KARNALI, BHERI, SURKHET))
    await _place(sita, "chini 1 bora")
    assert "KH-000001" in text_of(karnali.inbox())
    refused = text_of(await bheri.say("accept KH-000001"))
    assert "KH-000001" in refused and "स्वीकार गरियो" not in refused
    asked = text_of(await karnali.tap("order:reject:KH-000001"))
    assert "किन" in asked
    done = text_of(await karnali.say("out of stock"))
    assert "अस्वीकार गरियो" in done
    next_offer = (bheri.inbox() + surkhet.inbox())
    assert len(next_offer) == 1 and "KH-000001" in next_offer[0].text
    assert "another vendor" in text_of(sita.inbox())
    orders = text_of(await (bheri if bheri.wa_id in next_offer[0].raw.get("to", "") else surkhet)
                     .say("orders"))
    assert "KH-000001" in orders


async def test_vendor_sets_stock_and_price_by_text(world):
    karnali = world.phone(KARNALI)
    stock = text_of(await karnali.say("stock chini 2 bora"))
    assert "१००" in stock and "चिनी" in stock
    price = text_of(await karnali.say("price chini 115"))
    assert "रु ११५" in price
    assert "stock chini 100" in text_of(await karnali.say("stock"))


async def test_admin_sets_a_limit_and_the_next_big_order_is_refused_until_overridden(world):
    admin, hari, retailer_view = world.phone(ADMIN), world.phone(HARI), None
    asked = text_of(await admin.say("limit 9820000003 5000"))
    assert "Why" in asked
    done = text_of(await admin.say("new shop, small start"))
    assert "Rs 5,000" in done
    assert "रु ५,०००" in text_of(hari.inbox())
    draft = text_of(await hari.say("chini 2 bora"))
    assert "सीमाभन्दा" in draft
    refused = text_of(await hari.say("ho"))
    assert "उधारो सीमाभन्दा" in refused and "घटाउनुहोस्" in refused
    async with world.pool.acquire() as conn:
        number = await conn.fetchval("SELECT number FROM orders WHERE status = 'DRAFT'")
    assert "once" in text_of(await admin.say(f"override {number} regular customer"))
    assert number in text_of(await hari.say("ho"))
    del retailer_view


async def test_operators_may_not_set_limits_and_retailers_get_no_admin_commands(world):
    operator, sita = world.phone(OPERATOR), world.phone(SITA)
    assert "may not" in text_of(await operator.say("limit 9820000003 5000 because"))
    report = text_of(await operator.say("report"))
    assert "Failed messages" in report and "Orders" in report
    reply = text_of(await sita.say("limit 9820000003 5000 because"))
    assert "Credit limit" not in reply


async def test_statement_and_help_list_the_roles_commands(world):
    admin, operator, sita = world.phone(ADMIN), world.phone(OPERATOR), world.phone(SITA)
    await _place(sita, "chini 1 kg")
    assert "override" in text_of(await admin.say("help"))
    assert "override" not in text_of(await operator.say("help"))
    statement = text_of(await admin.say("statement 9820000002"))
    assert "Statement of Sita Kumari" in statement and "Closing" in statement


TIMING = jobs.Timing(draft_ttl=timedelta(minutes=60), offer_timeout=timedelta(minutes=30))


async def _round(conn, now):  # type: ignore[no-untyped-def]
    """One round of every job in the registry, in one transaction, and the replies they owe."""
    replies = []
    for job in jobs.JOBS:
        replies += await job.run(conn, now, TIMING)
    return replies


async def test_unconfirmed_drafts_and_unanswered_offers_expire_with_notices(world):
    sita, karnali = world.phone(SITA), world.phone(KARNALI)
    await sita.say("chini 1 kg")
    later = datetime.now(UTC) + timedelta(days=1)
    async with world.pool.acquire() as conn, conn.transaction():
        replies = await _round(conn, later)
        status = await conn.fetchval("SELECT status FROM orders WHERE number = 'D-000001'")
        state = await conn.fetchval(
            "SELECT state FROM conversations c JOIN users u ON u.id = c.user_id "
            "WHERE u.wa_id = $1", SITA)
    assert [r.template for r in replies] == ["draft_expired"]
    assert (status, state) == ("CANCELLED", "idle")

    await _place(sita, "chini 1 kg")
    assert karnali.inbox()
    async with world.pool.acquire() as conn, conn.transaction():
        replies = await _round(conn, later)
    templates = sorted(r.template for r in replies)
    assert templates == ["offer_withdrawn", "order_update", "vendor_offer"], templates


async def test_vendor_records_a_payment_by_retailer_phone_and_both_see_the_balance(world):
    sita, karnali = world.phone(SITA), world.phone(KARNALI)
    await _place(sita, "chini 1 bora")
    await karnali.tap("order:accept:KH-000001")
    sita.inbox()
    total = await world.pool.fetchval("SELECT total_paisa FROM orders WHERE number = 'KH-000001'")
    recorded = text_of(await karnali.say("paid 9820000002 1000 esewa"))
    left = total - 100_000
    assert "इसेवा" in recorded and "KH-000001" in recorded
    told = text_of(sita.inbox())
    assert "1,000" in told
    async with world.pool.acquire() as conn:
        balance = await conn.fetchval(
            "SELECT balance_paisa FROM ledger_accounts a JOIN users u ON u.id = a.retailer_id "
            "WHERE u.wa_id = $1", SITA)
    assert balance == left
    refused = text_of(await karnali.say("paid 9820000002 50000"))  # more than is owed
    async with world.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM payments") == 1
    assert "बढी" in refused and money(left, "ne") in refused  # more than the balance, shown


async def test_blocking_a_shop_cancels_its_unaccepted_order_and_tells_the_vendor(world):
    sita, karnali, operator = world.phone(SITA), world.phone(KARNALI), world.phone(OPERATOR)
    await _place(sita, "chini 1 bora")
    assert karnali.inbox()
    blocked = text_of(await operator.say("block 9820000002 not paying"))
    assert "KH-000001" in blocked and "Cancelled" in blocked
    assert "रद्द" in text_of(karnali.inbox())
    refused = text_of(await karnali.say("accept KH-000001"))
    assert "स्वीकार भयो" not in refused
    assert "accepted" not in text_of(sita.inbox())  # the shop is never told it was accepted


async def test_an_over_limit_refusal_explains_itself_and_an_override_can_be_confirmed_at_once(
        world):
    admin, hari = world.phone(ADMIN), world.phone(HARI)
    await admin.say("limit 9820000003 5000 small start")
    hari.inbox()
    await hari.say("chini 2 bora")
    refused = text_of(await hari.say("ho"))
    assert "सीमा: रु ५,०००" in refused and "यो अर्डर" in refused and "एडमिनलाई खबर" in refused
    told = text_of(admin.inbox())
    number = told.split("override ")[1].split()[0]
    assert number.startswith("D-") and "over their credit limit" in told  # a draft: no KH yet
    await hari.say("ho")  # tried again: the admin is not told twice
    assert admin.inbox() == []
    await admin.say(f"override {number} regular customer")
    granted = hari.inbox()
    assert "एडमिनले" in granted[-1].text and granted[-1].choices[0].startswith(
        f"order:confirm:{number}@")
    assert "KH-000001" in text_of(await hari.tap(granted[-1].choices[0]))  # placed at once


async def test_a_statement_for_an_unknown_number_or_a_vendor_says_so(world):
    operator = world.phone(OPERATOR)
    assert "+9779845454599" in text_of(await operator.say("statement 9845454599"))
    vendor = text_of(await operator.say("statement 9810000002"))
    assert "a vendor, not a retailer" in vendor, vendor
    assert "Write it like" in text_of(await operator.say("statement someone"))
