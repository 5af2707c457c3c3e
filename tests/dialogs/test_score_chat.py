"""Credit scores in chat: a retailer asks for their own ("score", "mero score"); a vendor asks
about a retailer they serve and only those; staff about any retailer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ledger import orders, payments, users
from ledger.pricing import LineRequest
from tests.dialogs.conftest import ADMIN, BHERI, KARNALI, OPERATOR, RAM, SITA, text_of


async def _history(pool, phone: str, bills: int = 8) -> str:  # type: ignore[no-untyped-def]
    """Give a retailer months of billed and paid orders (dated in the past); the vendor's phone."""
    start = datetime.now(UTC) - timedelta(days=30 * bills)
    async with pool.acquire() as conn:
        retailer = await users.by_phone(conn, phone)
        staff = await users.by_phone(conn, f"+{ADMIN}")
        assert retailer is not None and staff is not None
        vendor = None
        for i in range(bills):
            at = start + timedelta(days=30 * i)
            draft = await orders.create_draft(conn, retailer, [LineRequest("SUGAR", 5000, "kg")])
            placed = await orders.confirm(conn, draft.id, retailer, now=at)
            assert placed.order.vendor_id is not None
            vendor = await users.by_id(conn, placed.order.vendor_id)
            order = await orders.accept(conn, draft.id, vendor, now=at)
            assert order.due_at is not None
            await payments.record(conn, retailer_id=retailer.id, vendor_id=vendor.id,
                                  amount_paisa=order.total_paisa, method="cash", actor=staff,
                                  idempotency_key=f"hist:{phone}:{i}",
                                  now=order.due_at - timedelta(days=3))
        assert vendor is not None and vendor.phone is not None
        return vendor.phone


async def test_a_retailer_sees_their_score_factors_and_what_would_raise_it(world):
    sita, ram = world.phone(SITA), world.phone(RAM)
    none_yet = text_of(await sita.say("my score"))
    assert "not yet" in none_yet and "No purchases on credit yet" in none_yet
    await _history(world.pool, f"+{RAM}")
    shown = text_of(await ram.say("mero score"))
    assert "तपाईंको क्रेडिट स्कोर" in shown and "९०० मध्ये" in shown and "श्रेणी" in shown
    assert "समयमै" in shown or "भाखा" in shown
    assert "स्कोर बढाउने" in shown
    again = text_of(await ram.say("score"))
    # The first reply also offered English; the score itself reads the same again.
    assert again.split("---")[-1].strip() == shown.split("---")[-1].strip()


async def test_a_vendor_sees_only_retailers_they_serve_and_staff_see_any(world):
    vendor_phone = await _history(world.pool, f"+{SITA}")
    serving = world.phone(vendor_phone.lstrip("+"))
    other = world.phone(BHERI if vendor_phone.lstrip("+") != BHERI else KARNALI)
    seen = text_of(await serving.say("score 9820000002"))
    assert "Sita General Store" in seen and ("900" in seen or "९००" in seen)
    refused = text_of(await other.say("score 9820000002"))
    assert "Sita General Store" not in refused and ("may not" in refused or "पाउनुहुन्न" in refused
                                                   or "मिल्दैन" in refused), refused
    admin, operator = world.phone(ADMIN), world.phone(OPERATOR)
    assert "Sita General Store's credit score" in text_of(await admin.say("score 9820000002"))
    assert "credit score" in text_of(await operator.say("score 9820000002"))
    assert "not a retailer" in text_of(await admin.say("score 9810000002"))
    assert "score 9820000003" in text_of(await admin.say("score"))
