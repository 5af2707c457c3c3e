"""The vendor's pages: orders to act on (accept, reject with a reason, dispatch, deliver), stock
and prices, receivables by age, recording a payment and answering retailers' claims.

Each action is the chat step itself (`dialogs.steps`): the retailer hears on WhatsApp exactly
what they hear when the vendor replies in chat, and the ledger checks the vendor's rights again.
After an action the page redirects (303) back to its list with what was done; a refusal is the
list again with chat's explanation and the API's status for it."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from aiohttp import web

from bot.appkeys import MESSAGES, POOL
from catalog.quantity import Quantity
from dialogs import steps
from ledger import access, catalog_store, claims, credit, orders, pricing, reports, stock, users
from ledger.errors import InvalidAmount, LedgerError, UnknownRetailer
from ledger.payments import METHODS
from ledger.users import User
from locales import Language, formats, numbers
from web import render
from web.auth import page_user, signed_in
from web.pageparts import explain, lang_of, milli, refusal_status, send, unit_words
from web.signin import form

ACT_ON = {"VENDOR_ASSIGNED": "new", "ACCEPTED": "accepted", "DISPATCHED": "dispatched"}

WORDS: dict[Language, dict[str, Any]] = {
    "en": {
        "title": "Orders", "orders": "Orders", "stock": "Stock and prices",
        "receivables": "Receivables", "record_payment": "Record a payment",
        "statement": "Statements", "analytics": "Analytics",
        "new": "New orders", "accepted": "Accepted: to dispatch", "dispatched": "On the way",
        "none_new": "No new orders.", "none_accepted": "Nothing to dispatch.",
        "none_dispatched": "Nothing on the way.",
        "accept": "Accept", "reject": "Reject", "dispatch": "Dispatched", "deliver": "Delivered",
        "reason": "Why reject?", "reason_hint": "e.g. out of stock",
        "placed": "Placed", "due": "Due", "total": "Total", "owes_you": "Owes you",
        "done_accept": "Accepted {order}. The shop has been told on WhatsApp.",
        "done_reject": "Rejected {order}. It goes to the next wholesaler; the shop is told.",
        "done_dispatch": "{order} is on its way. The shop has been told.",
        "done_deliver": "{order} is delivered. The shop has been told what is due.",
        "product": "Product", "price": "Price", "per": "per", "in_stock": "In stock",
        "held": "Held by orders", "left": "Left", "save": "Save", "yes_save": "Yes, save",
        "no": "No, keep the old price", "new_price": "New price (Rs)", "new_stock": "Stock",
        "yours": "Your products", "base_unit": "base unit (kg, litre…)",
        "stock_hint": "Leave a box empty to keep it as it is. A price per pack (bora, carton) "
                      "is turned into the price per kg or litre; stock is in the unit chosen.",
        "find": "Find a product", "find_button": "Find", "none_found": "No product found.",
        "add_product": "Add a product", "choose": "Choose…", "saved": "Saved: {product}.",
        "bad_price": "Write the price in rupees, like 115 or 5600.",
        "bad_stock": "Write the stock as a number, like 100 or 2.5.",
        "shop": "Shop", "balance": "Owes", "overdue": "Overdue", "limit": "Limit",
        "d0_30": "0–30 days", "d31_60": "31–60", "d61_90": "61–90", "d90_plus": "90+",
        "everyone": "Everyone", "nobody_owes": "Nobody owes you anything now.",
        "by_age": "By age of the bill (days since it was accepted)",
        "retailer": "Shop", "or_order": "or an order number", "amount": "Amount (Rs)",
        "method": "Paid by", "reference": "Reference (optional)", "record": "Record payment",
        "methods": {"cash": "Cash", "bank": "Bank", "esewa": "eSewa", "khalti": "Khalti",
                    "fonepay": "Fonepay", "cheque": "Cheque", "other": "Other"},
        "recorded": "Recorded {amount} from {shop}. They now owe you {balance}; they have been "
                    "told on WhatsApp.",
        "bad_amount": "Write the amount in rupees, like 5000.",
        "pick_one": "Choose a shop or write an order number.",
        "claims": "Payments shops say they made", "no_claims": "No claims waiting.",
        "confirm": "Received", "not_received": "Not received",
        "claim_confirmed": "Confirmed {claim}: posted as {shop}'s payment.",
        "claim_rejected": "{claim} marked not received; our operators will sort it out.",
        "payment_hint": "The shop is told at once and can say it is not theirs.",
    },
    "ne": {
        "title": "अर्डर", "orders": "अर्डर", "stock": "मौज्दात र मूल्य",
        "receivables": "उठाउन बाँकी", "record_payment": "भुक्तानी चढाउनुहोस्",
        "statement": "विवरण", "analytics": "विश्लेषण",
        "new": "नयाँ अर्डर", "accepted": "स्वीकार गरिएको: पठाउन बाँकी", "dispatched": "बाटोमा",
        "none_new": "नयाँ अर्डर छैन।", "none_accepted": "पठाउन बाँकी केही छैन।",
        "none_dispatched": "बाटोमा केही छैन।",
        "accept": "स्वीकार", "reject": "अस्वीकार", "dispatch": "पठाइयो", "deliver": "पुर्‍याइयो",
        "reason": "किन अस्वीकार?", "reason_hint": "जस्तै: स्टक सकियो",
        "placed": "अर्डर मिति", "due": "भुक्तानी मिति", "total": "जम्मा",
        "owes_you": "तपाईंलाई तिर्न बाँकी",
        "done_accept": "{order} स्वीकार गरियो। पसललाई WhatsApp मा खबर गरियो।",
        "done_reject": "{order} अस्वीकार गरियो। यो अर्को थोक बिक्रेतालाई जान्छ; पसललाई खबर गरियो।",
        "done_dispatch": "{order} बाटोमा छ। पसललाई खबर गरियो।",
        "done_deliver": "{order} पुर्‍याइयो। पसललाई तिर्न बाँकी रकम भनियो।",
        "product": "सामान", "price": "मूल्य", "per": "प्रति", "in_stock": "मौज्दात",
        "held": "अर्डरमा राखिएको", "left": "बाँकी", "save": "सेभ", "yes_save": "हो, सेभ गर्नुहोस्",
        "no": "होइन, पुरानै मूल्य", "new_price": "नयाँ मूल्य (रु)", "new_stock": "मौज्दात",
        "yours": "तपाईंका सामान", "base_unit": "आधार एकाइ (केजी, लिटर…)",
        "stock_hint": "नबदल्ने कोठा खाली छोड्नुहोस्। बोरा वा कार्टुनको मूल्य प्रति केजी वा लिटरमा "
                      "बदलिन्छ; मौज्दात छानिएको एकाइमा हुन्छ।",
        "find": "सामान खोज्नुहोस्", "find_button": "खोज", "none_found": "सामान भेटिएन।",
        "add_product": "सामान थप्नुहोस्", "choose": "छान्नुहोस्…", "saved": "सेभ भयो: {product}।",
        "bad_price": "मूल्य रुपैयाँमा लेख्नुहोस्, जस्तै ११५ वा ५६००।",
        "bad_stock": "मौज्दात अंकमा लेख्नुहोस्, जस्तै १०० वा २.५।",
        "shop": "पसल", "balance": "बाँकी", "overdue": "म्याद नाघेको", "limit": "सीमा",
        "d0_30": "०–३० दिन", "d31_60": "३१–६०", "d61_90": "६१–९०", "d90_plus": "९०+",
        "everyone": "सबै", "nobody_owes": "अहिले कसैले तपाईंलाई तिर्न बाँकी छैन।",
        "by_age": "बिलको उमेरअनुसार (स्वीकार गरेदेखिका दिन)",
        "retailer": "पसल", "or_order": "वा अर्डर नम्बर", "amount": "रकम (रु)",
        "method": "भुक्तानी माध्यम", "reference": "सन्दर्भ (ऐच्छिक)", "record": "भुक्तानी चढाउनुहोस्",
        "methods": {"cash": "नगद", "bank": "बैंक", "esewa": "eSewa", "khalti": "Khalti",
                    "fonepay": "Fonepay", "cheque": "चेक", "other": "अन्य"},
        "recorded": "{shop} बाट {amount} चढाइयो। अब तपाईंलाई {balance} तिर्न बाँकी; उहाँलाई WhatsApp "
                    "मा खबर गरियो।",
        "bad_amount": "रकम रुपैयाँमा लेख्नुहोस्, जस्तै ५०००।",
        "pick_one": "पसल छान्नुहोस् वा अर्डर नम्बर लेख्नुहोस्।",
        "claims": "पसलले तिरेँ भनेका भुक्तानी", "no_claims": "कुनै दाबी बाँकी छैन।",
        "confirm": "पाएँ", "not_received": "पाइनँ",
        "claim_confirmed": "{claim} पक्का गरियो: {shop} को भुक्तानीका रूपमा चढाइयो।",
        "claim_rejected": "{claim} पाइएन भनियो; हाम्रा सञ्चालकले मिलाउनुहुन्छ।",
        "payment_hint": "पसललाई तुरुन्तै खबर जान्छ र उहाँले आफ्नो होइन भन्न सक्नुहुन्छ।",
    },
}


def routes(app: web.Application) -> None:
    app.router.add_post("/app/orders/{number}/{action}", order_action)
    app.router.add_get("/app/stock", stock_page)
    app.router.add_post("/app/stock", stock_post)
    app.router.add_get("/app/receivables", receivables_page)
    app.router.add_get("/app/payments/new", payment_page)
    app.router.add_post("/app/payments/new", payment_post)
    app.router.add_post("/app/claims/{ref}/{decision}", claim_post)


def _w(request: web.Request, user: User) -> dict[str, Any]:
    return WORDS[lang_of(request, user)]


# ---- orders -------------------------------------------------------------------------------

async def orders_page(request: web.Request, user: User, *, error: str | None = None,
                      status: int = 200) -> web.Response:
    """New offers, accepted orders to dispatch and orders on the way, each with its buttons."""
    async with request.app[POOL].acquire() as conn:
        found = await reports.open_orders(conn, actor=user, vendor_id=user.id, limit=100)
        full = {o.number: await orders.get(conn, o.number) for o in found
                if o.status in ACT_ON}
        owed = {r: await credit.owed_to(conn, r, user.id) for r in {o.retailer_id for o in found}}
    groups: dict[str, list[Any]] = {"new": [], "accepted": [], "dispatched": []}
    for o in found:
        if o.status in ACT_ON:
            groups[ACT_ON[o.status]].append({"summary": o, "order": full[o.number],
                                             "owes": owed[o.retailer_id]})
    w = _w(request, user)
    done = None
    action, number = request.query.get("done", ""), request.query.get("order", "")
    if f"done_{action}" in w and number.startswith("KH-") and len(number) < 20:
        done = w[f"done_{action}"].format(order=number)
    return render.render(request, "vendor_orders.html", WORDS, status=status, user=user,
                         groups=groups, done=done, error=error, u=unit_words(request, user))


async def order_action(request: web.Request) -> web.StreamResponse:
    """Accept, reject (with a reason), dispatch or deliver: the chat step, the retailer told."""
    user = await page_user(request, ("VENDOR",))
    fields = await form(request)
    number = request.match_info["number"].upper()[:20]
    action = request.match_info["action"]
    if action not in steps.ORDER_ACTIONS:
        raise web.HTTPNotFound()
    reason = " ".join(fields.get("reason", "").split())[:300]
    if action == "reject" and not reason:
        return await orders_page(request, user, status=422,
                                 error=_w(request, user)["reason"] + " " +
                                 _w(request, user)["reason_hint"])
    try:
        async with request.app[POOL].acquire() as conn, conn.transaction():
            await orders.visible(conn, number, user)
            parser = await catalog_store.parser(conn)
            done = await steps.order_step(conn, parser, user, action, number, reason)
            await send(request, conn, done.others)
    except LedgerError as error:
        return await orders_page(request, user, error=explain(request, user, error, order=number),
                                 status=refusal_status(error))
    raise web.HTTPSeeOther(f"/app/orders?done={action}&order={done.order.number}")


# ---- stock and prices ---------------------------------------------------------------------

async def _stock_context(request: web.Request, user: User) -> dict[str, Any]:
    async with request.app[POOL].acquire() as conn:
        parser = await catalog_store.parser(conn)
        offers = await stock.offers(conn, user.id)
    carried = {o.sku for o in offers}
    rows = []
    for offer in offers:
        product = parser.products.get(offer.sku)
        if product is None:
            continue
        rows.append({"offer": offer, "product": product, "stock": milli(offer.stock_milli),
                     "held": milli(offer.reserved_milli), "left": milli(offer.available_milli),
                     "units": [product.unit, *sorted(product.packs)]})
    others = sorted((p for sku, p in parser.products.items() if sku not in carried),
                    key=lambda p: p.name_en)
    rows.sort(key=lambda r: r["product"].name_en.lower())
    chosen = request.query.get("sku", "")[:64]
    product = parser.products.get(chosen)
    packs = sorted(product.packs) if product else sorted(
        {pack for p in parser.products.values() for pack in p.packs})
    q = request.query.get("q", "").strip().lower()[:60]
    shown = [r for r in rows if not q or q in " ".join(
        (r["product"].sku, r["product"].name_en, r["product"].name_ne,
         *r["product"].aliases)).lower()]
    return {"rows": rows, "others": others, "chosen": chosen, "packs": packs, "q": q,
            "shown": shown}


@signed_in("VENDOR")
async def stock_page(request: web.Request, user: User) -> web.StreamResponse:
    """Each product this vendor carries: price per unit, stock, what orders hold, what is left;
    a form per product to change price and stock, and one to add a product."""
    return await _stock(request, user)


async def _stock(request: web.Request, user: User, *, status: int = 200, error: str | None = None,
                 caution: dict[str, Any] | None = None, saved: str | None = None
                 ) -> web.Response:
    context = await _stock_context(request, user)
    if saved is None and request.query.get("saved"):
        sku = request.query["saved"][:64]
        names = {r["product"].sku: r["product"] for r in context["rows"]}
        if sku in names:
            product = names[sku]
            saved = _w(request, user)["saved"].format(
                product=product.name_ne if lang_of(request, user) == "ne" else product.name_en)
    return render.render(request, "vendor_stock.html", WORDS, status=status, user=user,
                         error=error, caution=caution, saved=saved, u=unit_words(request, user),
                         **context)


def _quantity(text: str) -> Decimal | None:
    raw = numbers.ascii_digits(text).replace(",", "").strip()
    if not raw:
        return None
    try:
        value = Decimal(raw)
    except ArithmeticError:
        return None
    return value if value.is_finite() and value >= 0 else None


async def stock_post(request: web.Request) -> web.StreamResponse:
    """A new price (per the unit chosen: a pack's price is turned into the base unit's) and/or
    stock for one product; a price more than 3× away from the one before is asked about first,
    as chat asks."""
    user = await page_user(request, ("VENDOR",))
    fields = await form(request)
    w = _w(request, user)
    sku = fields.get("sku", "")[:64]
    async with request.app[POOL].acquire() as conn:
        parser = await catalog_store.parser(conn)
    product = parser.products.get(sku)
    if product is None:
        return await _stock(request, user, status=422, error=w["choose"])
    price_text, stock_text = fields.get("price", "").strip(), fields.get("stock", "").strip()
    typed = numbers.paisa(price_text) if price_text else None
    if price_text and not typed:
        return await _stock(request, user, status=422, error=w["bad_price"])
    count = _quantity(stock_text) if stock_text else None
    if stock_text and count is None:
        return await _stock(request, user, status=422, error=w["bad_stock"])
    unit = fields.get("unit", "")[:32] or product.unit
    per_unit = parser.vocabulary.to_base(product, Quantity(Decimal(1), unit))
    if not per_unit:  # "oil per bora": chat's answer, naming the packs it is sold in
        return await _stock(request, user, status=422, error=request.app[MESSAGES].render(
            lang_of(request, user), "vendor_unit_unknown", product=product, unit=unit,
            packs=sorted(product.packs)))
    try:
        async with request.app[POOL].acquire() as conn, conn.transaction():
            price = pricing.per_base_unit(typed, per_unit) if typed else None
            if price is not None and fields.get("confirm") != "yes":
                before = await stock.reference_price(conn, user.id, sku)
                if before is not None and stock.implausible(before, price):
                    text = request.app[MESSAGES].render(
                        lang_of(request, user), "vendor_check_price", product=product,
                        before_paisa=before, price_paisa=price, typed_paisa=typed, unit=unit)
                    return await _stock(request, user, status=409, caution={
                        "text": text, "sku": sku, "price": price_text, "unit": unit,
                        "stock": stock_text})
            stock_milli = pricing.to_milli(count * per_unit) if count else (
                0 if count is not None else None)
            if price is None and stock_milli is None:
                return await _stock(request, user, status=422, error=w["bad_price"])
            await stock.set_offer(conn, user, sku, price_paisa=price, stock_milli=stock_milli)
    except LedgerError as error:
        return await _stock(request, user, status=refusal_status(error),
                            error=explain(request, user, error, sku=product.name_en))
    raise web.HTTPSeeOther(f"/app/stock?saved={sku}")


# ---- receivables --------------------------------------------------------------------------

@signed_in("VENDOR")
async def receivables_page(request: web.Request, user: User) -> web.StreamResponse:
    """What each shop owes this vendor, overdue, and by the age of the bills; the whole book's
    ageing first."""
    async with request.app[POOL].acquire() as conn:
        owed = await reports.receivables(conn, user.id, actor=user)
        total = await reports.ageing(conn, actor=user, vendor_id=user.id)
        aged = await reports.ageing_by_retailer(conn, user.id, actor=user)
    none = reports.Ageing(0, 0, 0, 0)
    rows = [{"balance": b, "ageing": aged.get(b.retailer_id, none)} for b in owed]
    return render.render(request, "vendor_receivables.html", WORDS, user=user, rows=rows,
                         total=total)


# ---- payments and claims ------------------------------------------------------------------

async def _payment(request: web.Request, user: User, *, status: int = 200,
                   error: str | None = None, done: str | None = None,
                   fields: dict[str, str] | None = None) -> web.Response:
    async with request.app[POOL].acquire() as conn:
        owed = await reports.receivables(conn, user.id, actor=user)
        waiting = await claims.listed(conn, user, status="pending")
    return render.render(request, "vendor_payment.html", WORDS, status=status, user=user,
                         shops=owed, claims=waiting, methods=METHODS, error=error, done=done,
                         fields=fields or {}, nonce=uuid.uuid4().hex)


@signed_in("VENDOR")
async def payment_page(request: web.Request, user: User) -> web.StreamResponse:
    """The payment form (a shop that owes you, or an order number) and the claims waiting."""
    return await _payment(request, user)


async def payment_post(request: web.Request) -> web.StreamResponse:
    """"paid KH-000123 5000 esewa" or "paid 98… 5000", from a form: the same service and the
    same message to the shop. The form's one-time nonce is the idempotency key, so sending it
    twice records it once."""
    user = await page_user(request, ("VENDOR",))
    fields = await form(request)
    w = _w(request, user)
    amount = numbers.paisa(fields.get("amount", ""))
    method = fields.get("method", "cash")
    number = fields.get("order", "").strip().upper()[:20] or None
    retailer_text = fields.get("retailer", "").strip()
    nonce = fields.get("nonce", "")[:64] or uuid.uuid4().hex
    if not amount:
        return await _payment(request, user, status=422, error=w["bad_amount"], fields=fields)
    if method not in METHODS:
        method = "cash"
    if (number is None) == (not retailer_text):
        return await _payment(request, user, status=422, error=w["pick_one"], fields=fields)
    try:
        async with request.app[POOL].acquire() as conn, conn.transaction():
            retailer_id = None
            if number is None:
                if not retailer_text.isdigit():
                    raise UnknownRetailer(user_id=0)
                retailer = await users.by_id(conn, int(retailer_text[:18]))
                if retailer is None or retailer.role != "RETAILER" or not await access.serves(
                        conn, user.id, retailer.id):
                    raise UnknownRetailer(user_id=0)
                retailer_id = retailer.id
            else:
                await orders.visible(conn, number, user)
            if amount <= 0:
                raise InvalidAmount(amount_paisa=amount)
            done = await steps.record_payment(
                conn, user, amount_paisa=amount, method=method,
                key=f"payment:web:{user.id}:{nonce}", number=number, retailer_id=retailer_id,
                reference=fields.get("reference", "").strip()[:100], vendor_name=user.name)
            if not done.result.replayed:
                await send(request, conn, done.others)
    except LedgerError as error:
        return await _payment(request, user, status=refusal_status(error), fields=fields,
                              error=explain(request, user, error, order=number or ""))
    lang = lang_of(request, user)
    # Shown on the answer itself (no redirect): sending the form again replays the same
    # payment (its nonce), and nobody is told twice.
    text = w["recorded"].format(amount=formats.money(amount, lang), shop=done.shop_name,
                                balance=formats.money(done.result.balance_paisa, lang))
    return await _payment(request, user, done=text)


async def claim_post(request: web.Request) -> web.StreamResponse:
    """Received or Not received on a shop's claim: as tapping the buttons in chat."""
    user = await page_user(request, ("VENDOR",))
    await form(request)
    ref = request.match_info["ref"].upper()[:20]
    decision = request.match_info["decision"]
    if decision not in ("confirm", "reject"):
        raise web.HTTPNotFound()
    w = _w(request, user)
    try:
        async with request.app[POOL].acquire() as conn, conn.transaction():
            done = await steps.decide_claim(conn, ref, user, confirm=decision == "confirm",
                                            vendor_name=user.name)
            await send(request, conn, done.others)
    except LedgerError as error:
        return await _payment(request, user, status=refusal_status(error),
                              error=explain(request, user, error, claim=ref))
    text = (w["claim_confirmed"] if decision == "confirm" else w["claim_rejected"]).format(
        claim=ref, shop=done.claim.shop_name)
    return await _payment(request, user, done=text)
