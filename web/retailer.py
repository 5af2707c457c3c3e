"""The retailer's pages — orders and their status (cancel one no vendor took yet), dues by vendor,
the credit score with the factors chat names — and the statement page both a retailer (with a
vendor) and a vendor (with a retailer) read and download as PDF or CSV. `/app/orders` is the
vendor's list for a vendor (web/vendor.py), this one for a retailer."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from bot import statement_doc
from bot.appkeys import POOL
from dialogs import scores as score_card
from dialogs import steps
from ledger import orders, reports, scores, statements
from ledger.errors import LedgerError
from ledger.lifecycle import RETAILER_CANCELLABLE_STATUSES
from ledger.users import User
from locales import Language
from locales.formats import NEPAL_TIME
from web import pageparts, render, vendor
from web.auth import page_user, signed_in
from web.pageparts import explain, lang_of, refusal_status, send
from web.signin import form

HISTORY_SHOWN = 30
DAYS = (30, 90, 180, 365)
DEFAULT_DAYS = 90

STATUS_WORDS: dict[Language, dict[str, str]] = {
    "en": {"PENDING": "Finding a wholesaler", "VENDOR_ASSIGNED": "Waiting for the wholesaler",
           "ACCEPTED": "Accepted", "DISPATCHED": "On the way", "DELIVERED": "Delivered",
           "COMPLETED": "Paid and done", "CANCELLED": "Cancelled",
           "REJECTED": "Nobody could take it",
           "DRAFT": "Not placed"},
    "ne": {"PENDING": "थोक बिक्रेता खोज्दै", "VENDOR_ASSIGNED": "थोक बिक्रेताको जवाफ कुर्दै",
           "ACCEPTED": "स्वीकार भयो", "DISPATCHED": "बाटोमा", "DELIVERED": "पुग्यो",
           "COMPLETED": "तिरियो, सकियो", "CANCELLED": "रद्द", "REJECTED": "कसैले लिन सकेन",
           "DRAFT": "पठाइएको छैन"},
}
PAYMENT_WORDS: dict[Language, dict[str, str]] = {
    "en": {"UNPAID": "Unpaid", "PARTIAL": "Partly paid", "PAID": "Paid"},
    "ne": {"UNPAID": "नतिरेको", "PARTIAL": "आंशिक तिरेको", "PAID": "तिरेको"},
}

WORDS: dict[Language, dict[str, Any]] = {
    "en": {
        "title": "Orders", "orders": "Orders", "dues": "Dues", "statement": "Statement",
        "score": "Credit score", "stock": "Stock and prices", "receivables": "Receivables",
        "record_payment": "Record a payment", "analytics": "Analytics",
        "open": "Open orders", "recent": "Recent orders", "none_open": "No open orders.",
        "none_recent": "No orders yet. Order on WhatsApp: write what you need, e.g. "
                       "\"chini 5 kg\".",
        "vendor": "Wholesaler", "status": "Status", "paid": "Payment", "placed": "Placed",
        "due": "Due", "cancel": "Cancel order",
        "cancelled": "Order {order} is cancelled; the wholesaler has been told.",
        "owe": "You owe", "overdue": "Overdue", "next_due": "Next due", "in_all": "In all",
        "owe_nobody": "You owe nothing now. Thank you!",
        "period": "Period", "days": "{n} days", "show": "Show", "with": "With",
        "pdf": "Download PDF", "csv": "Download CSV", "opening": "Opening balance",
        "closing": "Closing balance", "date": "Date", "what": "What", "debit": "Bill",
        "credit": "Paid", "balance": "Balance", "no_lines": "Nothing in this period.",
        "nobody": "No account yet.", "choose": "Choose…", "truncated": "Only the first lines "
        "are shown; download the file for all of them.",
        "what_words": {"order": "Order", "bill": "Bill", "payment": "Payment",
                       "order_cancelled": "Order cancelled", "payment_reversed":
                       "Payment reversed", "adjustment": "Adjustment"},
        "score_of": "Your credit score", "no_score": "No score yet",
        "counts": "What counts most", "raise": "What would raise it",
        "score_scale": "From 300 to 900: higher means wholesalers can trust you with more credit.",
    },
    "ne": {
        "title": "अर्डर", "orders": "अर्डर", "dues": "बाँकी", "statement": "विवरण",
        "score": "क्रेडिट स्कोर", "stock": "मौज्दात र मूल्य", "receivables": "उठाउन बाँकी",
        "record_payment": "भुक्तानी चढाउनुहोस्", "analytics": "विश्लेषण",
        "open": "चालु अर्डर", "recent": "हालका अर्डर", "none_open": "चालु अर्डर छैन।",
        "none_recent": "अहिलेसम्म अर्डर छैन। WhatsApp मा चाहिएको लेख्नुहोस्, जस्तै \"चिनी ५ केजी\"।",
        "vendor": "थोक बिक्रेता", "status": "अवस्था", "paid": "भुक्तानी", "placed": "अर्डर मिति",
        "due": "भुक्तानी मिति", "cancel": "अर्डर रद्द गर्नुहोस्",
        "cancelled": "अर्डर {order} रद्द भयो; थोक बिक्रेतालाई खबर गरियो।",
        "owe": "तिर्न बाँकी", "overdue": "म्याद नाघेको", "next_due": "अर्को भुक्तानी मिति",
        "in_all": "जम्मा", "owe_nobody": "अहिले तपाईंको केही बाँकी छैन। धन्यवाद!",
        "period": "अवधि", "days": "{n} दिन", "show": "हेर्नुहोस्", "with": "सँग",
        "pdf": "PDF डाउनलोड", "csv": "CSV डाउनलोड", "opening": "सुरुको बाँकी",
        "closing": "अन्तिम बाँकी", "date": "मिति", "what": "विवरण", "debit": "बिल",
        "credit": "तिरेको", "balance": "बाँकी", "no_lines": "यो अवधिमा केही छैन।",
        "nobody": "अहिलेसम्म खाता छैन।", "choose": "छान्नुहोस्…",
        "truncated": "सुरुका लाइन मात्र देखाइएका छन्; सबैका लागि फाइल डाउनलोड गर्नुहोस्।",
        "what_words": {"order": "अर्डर", "bill": "बिल", "payment": "भुक्तानी",
                       "order_cancelled": "अर्डर रद्द", "payment_reversed": "भुक्तानी फिर्ता",
                       "adjustment": "मिलान"},
        "score_of": "तपाईंको क्रेडिट स्कोर", "no_score": "अहिलेसम्म स्कोर छैन",
        "counts": "सबैभन्दा धेरै असर गर्ने", "raise": "स्कोर बढाउन",
        "score_scale": "३०० देखि ९०० सम्म: जति धेरै, थोक बिक्रेताले त्यति धेरै उधारो दिन भरोसा गर्छन्।",
    },
}


def routes(app: web.Application) -> None:
    app.router.add_get("/app/orders", orders_page)
    app.router.add_post("/app/orders/{number}/cancel", cancel_post)
    app.router.add_get("/app/dues", dues_page)
    app.router.add_get("/app/score", score_page)
    app.router.add_get("/app/statement", statement_page)
    app.router.add_get("/app/statement/download", statement_download)


def _words() -> dict[Language, dict[str, Any]]:
    return {lang: {**vendor.WORDS[lang], **WORDS[lang], "statuses": STATUS_WORDS[lang],
                   "payments": PAYMENT_WORDS[lang]} for lang in WORDS}


PAGE_WORDS = _words()


@signed_in("VENDOR", "RETAILER")
async def orders_page(request: web.Request, user: User) -> web.StreamResponse:
    """A vendor's orders to act on, or a retailer's open and recent orders."""
    if user.role == "VENDOR":
        return await vendor.orders_page(request, user)
    return await _retailer_orders(request, user)


async def _retailer_orders(request: web.Request, user: User, *, status: int = 200,
                           error: str | None = None) -> web.Response:
    async with request.app[POOL].acquire() as conn:
        open_ = await reports.open_orders(conn, actor=user, retailer_id=user.id)
        recent = await reports.history(conn, user.id, actor=user, limit=HISTORY_SHOWN)
    open_numbers = {o.number for o in open_}
    done = None
    number = request.query.get("cancelled", "")
    if number.startswith("KH-") and len(number) < 20:
        done = PAGE_WORDS[lang_of(request, user)]["cancelled"].format(order=number)
    return render.render(request, "retailer_orders.html", PAGE_WORDS, status=status, user=user,
                         open_orders=open_, recent=[o for o in recent
                                                    if o.number not in open_numbers],
                         cancellable=RETAILER_CANCELLABLE_STATUSES, done=done, error=error)


async def cancel_post(request: web.Request) -> web.StreamResponse:
    """"cancel KH-…" from the page: before a vendor took it; the vendor is told as in chat."""
    user = await page_user(request, ("RETAILER",))
    await form(request)
    number = request.match_info["number"].upper()[:20]
    ask = None  # too late to cancel here: the refusal names the vendor to call, as chat does
    try:
        async with request.app[POOL].acquire() as conn, conn.transaction():
            ask = (await orders.visible(conn, number, user)).vendor_name
            done = await steps.cancel(conn, user, number)
            await send(request, conn, done.others)
    except LedgerError as error:
        return await _retailer_orders(request, user, status=refusal_status(error),
                                      error=explain(request, user, error, order=number,
                                                    **({"ask": ask} if ask else {})))
    raise web.HTTPSeeOther(f"/app/orders?cancelled={done.order.number}")


@signed_in("RETAILER")
async def dues_page(request: web.Request, user: User) -> web.StreamResponse:
    """What this shop owes each vendor, overdue and the next due date."""
    async with request.app[POOL].acquire() as conn:
        found = await reports.balances(conn, user.id, actor=user)
    return render.render(request, "retailer_dues.html", PAGE_WORDS, user=user, dues=found)


@signed_in("RETAILER")
async def score_page(request: web.Request, user: User) -> web.StreamResponse:
    """The score, its band and meaning, what counts most and what would raise it: the texts
    chat's "score" gives."""
    async with request.app[POOL].acquire() as conn:
        found = await scores.for_retailer(conn, user, user.id)
    return render.render(request, "retailer_score.html", PAGE_WORDS, user=user,
                         card=score_card.card(found))


def _days(request: web.Request) -> int:
    raw = request.query.get("days", "")
    return int(raw) if raw.isdigit() and int(raw) in DAYS else DEFAULT_DAYS


def _other(request: web.Request) -> int | None:
    raw = request.query.get("retailer" if "retailer" in request.query else "vendor", "")
    return int(raw) if raw.isdigit() and len(raw) < 19 else None


async def _parties(conn: Any, user: User) -> list[tuple[int, str]]:
    """Whom this person has a statement with: a retailer's vendors, a vendor's retailers."""
    if user.role == "RETAILER":
        return [(p.user_id, p.name) for p in await statements.vendors_of(conn, user, user.id)]
    return [(p.user_id, p.name) for p in await statements.retailers_of(conn, user, user.id)]


async def _statement(request: web.Request, user: User, other: int, days: int
                     ) -> statements.Statement:
    today = datetime.now(NEPAL_TIME).date()
    start = today - timedelta(days=days - 1)
    retailer_id, vendor_id = (user.id, other) if user.role == "RETAILER" else (other, user.id)
    async with request.app[POOL].acquire() as conn:
        return await statements.statement(conn, user, retailer_id=retailer_id,
                                          vendor_id=vendor_id, start=start, end=today)


@signed_in("VENDOR", "RETAILER")
async def statement_page(request: web.Request, user: User) -> web.StreamResponse:
    """Choose the other side and the period; the statement's lines, and the PDF and CSV."""
    async with request.app[POOL].acquire() as conn:
        parties = await _parties(conn, user)
    other, days = _other(request), _days(request)
    if other is None and len(parties) == 1:
        other = parties[0][0]
    found, error, status = None, None, 200
    if other is not None:
        try:
            found = await _statement(request, user, other, days)
        except LedgerError as exc:
            error, status = explain(request, user, exc, action="statement"), refusal_status(exc)
    return render.render(request, "statement.html", PAGE_WORDS, status=status, user=user,
                         parties=parties, other=other, days=days, choices=DAYS,
                         statement=found, error=error,
                         param="vendor" if user.role == "RETAILER" else "retailer")


@signed_in("VENDOR", "RETAILER")
async def statement_download(request: web.Request, user: User) -> web.StreamResponse:
    """The statement as the PDF chat sends (or CSV), in the page's language."""
    other, days = _other(request), _days(request)
    fmt = request.query.get("format", "pdf")
    if other is None or fmt not in ("pdf", "csv"):
        raise web.HTTPBadRequest(text="retailer or vendor, and format=pdf|csv")
    try:
        found = await _statement(request, user, other, days)
    except LedgerError as exc:
        raise web.HTTPNotFound(text=explain(request, user, exc, action="statement")) from None
    lang = lang_of(request, user)
    body = await pageparts.statement_file(request, found, fmt, lang)
    return web.Response(body=body, content_type=statement_doc.MIME[fmt], headers={
        "Content-Disposition": f'attachment; filename="{statement_doc.filename(found, fmt)}"',  # type: ignore[arg-type]
        "Cache-Control": "no-store"})
