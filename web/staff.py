"""The admin's and operator's pages: today, people (approve, block, unblock, credit limits), one
person's page (a shop's statement, score and orders) and the messages that could not be sent.

Every figure and every decision goes through the services chat uses (`ledger.reports`,
`ledger.people`, `dialogs.staff`), with the signed-in person as the actor, so a decision here
has exactly the effect the same command has in chat, WhatsApp messages included, and the
services check rights again: an operator's credit limit is refused there as well as here.
A form posts, then redirects back with what was done (`?done=`), so reloading repeats nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any
from urllib.parse import quote, urlencode

import asyncpg
from aiohttp import web

from bot import metrics, statement_doc
from bot.appkeys import MESSAGES, OUTBOUND, POOL, SETTINGS
from dialogs import staff
from ledger import catalog_store, credit, people, reports, scores, statements, users
from ledger.errors import AlreadyDone, LedgerError, NotPermitted
from ledger.people import STANDINGS
from ledger.users import ROLES, Role, User
from locales import Language, formats, numbers
from web import pageparts, render
from web.api.errors import status_of
from web.auth import signed_in
from web.reads import reading
from web.signin import form

STAFF_ROLES: tuple[Role, ...] = ("ADMIN", "OPERATOR")
STATEMENT_DAYS = 30
STATEMENT_SHOWN = 100
ORDERS_SHOWN = 20
PAGE_SIZE = 50
# The health panel marks the inbox slow past this (as docs/alerts.yml's KhaachoInboxStuck does).
INBOX_SLOW_SECONDS = 300
REASONS_SHOWN = 3

WORDS: dict[Language, dict[str, Any]] = {
    "en": {
        "title": "Khaacho — staff",
        "today": "Today", "users": "Users", "failed": "Failed messages",
        "analytics": "Analytics",
        "today_heading": "Today, {day}",
        "orders": "Orders placed", "value": "Their value", "outstanding": "Owed to vendors",
        "overdue": "Overdue", "failed_count": "Messages failed today",
        "waiting": "Registrations waiting", "see_waiting": "Decide them",
        "see_failed": "See them", "latest_failed": "Latest failed messages",
        "no_failed": "No message failed today.",
        "search": "Search", "name_phone": "Name, shop or phone", "area": "Area",
        "role": "Role", "standing": "Status", "any": "Any",
        "roles": {"ADMIN": "Admin", "OPERATOR": "Operator", "VENDOR": "Wholesaler",
                  "RETAILER": "Shop"},
        "standings": {"waiting": "Waiting", "active": "Active", "blocked": "Blocked",
                      "registering": "Registering"},
        "nobody": "Nobody matches.", "more": "More", "back": "Back",
        "phone": "Phone", "shop": "Shop", "limit": "Credit limit", "balance": "Owes",
        "registered": "Since", "name": "Name", "owner": "Owner",
        "owes_of": "owes {owes} of {limit} limit",
        "starter": "A shop starts with a credit limit of {amount}.",
        "block_effect": "No new orders or credit. Orders no vendor has accepted yet are "
                        "cancelled (their vendors are told); accepted orders go on.",
        "approve_as": "Approve as", "approve": "Approve",
        "block": "Block", "block_reason": "Reason (they are not told it)",
        "unblock": "Unblock", "unblock_reason": "Note (optional)",
        "set_limit": "Set the credit limit", "limit_rupees": "New limit (rupees)",
        "limit_reason": "Reason (required)", "save": "Save",
        "limit_admin_only": "Only an admin sets credit limits.",
        "done": {"approved": "Approved: {name} has been told on WhatsApp.",
                 "blocked": "Blocked: {name}.", "unblocked": "Unblocked: {name}.",
                 "limit": "Credit limit set: {name} has been told on WhatsApp."},
        "bad_limit": "Write the new limit in rupees, like 50000.",
        "bad_role": "Choose a role to approve as.",
        "position": "Credit", "available": "Available", "unbilled": "Orders not billed yet",
        "owed_by_vendor": "Owed by vendor", "vendor": "Vendor", "next_due": "Next due",
        "nothing_owed": "Nothing owed.",
        "score": "Credit score", "no_score": "No score yet", "band": "Band",
        "factors": "Why", "improve": "To improve",
        "statement": "Statement", "from": "From", "to": "To", "show": "Show",
        "download_pdf": "PDF", "download_csv": "CSV", "opening": "Opening balance",
        "closing": "Closing balance", "date": "Date", "what": "What", "ref": "Reference",
        "debit": "Owes more", "credit": "Owes less", "running": "Balance",
        "no_entries": "No entries in this period.",
        "shown_last": "The last {shown} of {count} entries; download for all of them.",
        "bad_dates": "Dates are YYYY-MM-DD, the first not after the second.",
        "whats": {"order": "Order", "bill": "Bill (imported)", "payment": "Payment",
                  "order_cancelled": "Order cancelled", "payment_reversed": "Payment reversed",
                  "adjustment": "Adjustment"},
        "recent_orders": "Orders", "number": "Order", "status": "Status", "total": "Total",
        "placed": "Placed", "no_orders": "No orders yet.",
        "payment": {"UNPAID": "unpaid", "PARTIAL": "part paid", "PAID": "paid"},
        "failed_heading": "Messages that could not be sent",
        "failed_lead": "Each with the reason WhatsApp gave. Newest first.",
        "to_whom": "To", "said": "Message", "reason": "Reason", "when": "When",
        "attempts": "Tries", "older": "Older", "unknown_person": "not a member",
        "not_found_title": "Not found", "not_found": "There is nobody with that number.",
        "health": "Health",
        "outbox": "Replies waiting to be sent", "inbox": "Messages waiting to be handled",
        "oldest": "oldest {age}", "none_waiting": "none waiting",
        "failed_all": "Messages failed (all time)", "by_reason": "by reason",
        "ledger_check": "Last ledger check", "check_ok": "consistent",
        "check_problems": "{count} problem(s)", "check_never": "not run yet by this server",
        "pool": "Database connections in use", "pool_of": "{used} of {max}",
        "errors": "Server errors, last {minutes} minutes",
        "errors_of": "{errors} of {requests} requests",
        "units": {"s": "s", "min": "min", "h": "h", "d": "days"},
    },
    "ne": {
        "title": "खाचो — कर्मचारी",
        "today": "आज", "users": "प्रयोगकर्ता", "failed": "नपुगेका सन्देश",
        "analytics": "विश्लेषण",
        "today_heading": "आज, {day}",
        "orders": "राखिएका अर्डर", "value": "तिनको मूल्य", "outstanding": "थोक बिक्रेतालाई तिर्न बाँकी",
        "overdue": "म्याद नाघेको", "failed_count": "आज नपुगेका सन्देश",
        "waiting": "निर्णय पर्खिरहेका दर्ता", "see_waiting": "निर्णय गर्नुहोस्",
        "see_failed": "हेर्नुहोस्", "latest_failed": "पछिल्ला नपुगेका सन्देश",
        "no_failed": "आज कुनै सन्देश असफल भएन।",
        "search": "खोज्नुहोस्", "name_phone": "नाम, पसल वा फोन", "area": "क्षेत्र",
        "role": "भूमिका", "standing": "अवस्था", "any": "जुनसुकै",
        "roles": {"ADMIN": "प्रशासक", "OPERATOR": "सञ्चालक", "VENDOR": "थोक बिक्रेता",
                  "RETAILER": "पसल"},
        "standings": {"waiting": "पर्खिरहेको", "active": "सक्रिय", "blocked": "रोकिएको",
                      "registering": "दर्ता हुँदै"},
        "nobody": "कोही मिलेन।", "more": "थप", "back": "पछाडि",
        "phone": "फोन", "shop": "पसल", "limit": "उधारो सीमा", "balance": "तिर्न बाँकी",
        "registered": "देखि", "name": "नाम", "owner": "मालिक",
        "owes_of": "{limit} सीमामध्ये {owes} तिर्न बाँकी",
        "starter": "पसलको सुरुको उधारो सीमा {amount} हुन्छ।",
        "block_effect": "नयाँ अर्डर र उधारो बन्द हुन्छ। थोक बिक्रेताले स्वीकार नगरेका अर्डर रद्द "
                        "हुन्छन् (उनीहरूलाई भनिन्छ); स्वीकार भएका अर्डर चलिरहन्छन्।",
        "approve_as": "यस रूपमा स्वीकृत", "approve": "स्वीकृत गर्नुहोस्",
        "block": "रोक्नुहोस्", "block_reason": "कारण (उहाँलाई भनिँदैन)",
        "unblock": "फेरि खोल्नुहोस्", "unblock_reason": "टिप्पणी (ऐच्छिक)",
        "set_limit": "उधारो सीमा राख्नुहोस्", "limit_rupees": "नयाँ सीमा (रुपैयाँ)",
        "limit_reason": "कारण (अनिवार्य)", "save": "राख्नुहोस्",
        "limit_admin_only": "उधारो सीमा प्रशासकले मात्र राख्छन्।",
        "done": {"approved": "स्वीकृत: {name} लाई WhatsApp मा भनियो।",
                 "blocked": "रोकियो: {name}।", "unblocked": "फेरि खोलियो: {name}।",
                 "limit": "उधारो सीमा राखियो: {name} लाई WhatsApp मा भनियो।"},
        "bad_limit": "नयाँ सीमा रुपैयाँमा लेख्नुहोस्, जस्तै ५००००।",
        "bad_role": "कुन भूमिकामा स्वीकृत गर्ने, छान्नुहोस्।",
        "position": "उधारो", "available": "बाँकी सीमा", "unbilled": "बिल नबनेका अर्डर",
        "owed_by_vendor": "थोक बिक्रेता अनुसार बाँकी", "vendor": "थोक बिक्रेता",
        "next_due": "अर्को म्याद", "nothing_owed": "केही बाँकी छैन।",
        "score": "क्रेडिट स्कोर", "no_score": "अहिले स्कोर छैन", "band": "श्रेणी",
        "factors": "किन", "improve": "सुधार्न",
        "statement": "विवरण", "from": "देखि", "to": "सम्म", "show": "देखाउनुहोस्",
        "download_pdf": "PDF", "download_csv": "CSV", "opening": "सुरुको बाँकी",
        "closing": "अन्तिम बाँकी", "date": "मिति", "what": "के", "ref": "सन्दर्भ",
        "debit": "बाँकी बढ्यो", "credit": "बाँकी घट्यो", "running": "बाँकी",
        "no_entries": "यो अवधिमा कुनै कारोबार छैन।",
        "shown_last": "{count} मध्ये पछिल्ला {shown} कारोबार; सबैका लागि डाउनलोड गर्नुहोस्।",
        "bad_dates": "मिति YYYY-MM-DD मा लेख्नुहोस्, पहिलो दोस्रोभन्दा पछि नहोस्।",
        "whats": {"order": "अर्डर", "bill": "बिल (पुरानो खाता)", "payment": "भुक्तानी",
                  "order_cancelled": "अर्डर रद्द", "payment_reversed": "भुक्तानी फिर्ता",
                  "adjustment": "मिलान"},
        "recent_orders": "अर्डर", "number": "अर्डर", "status": "अवस्था", "total": "जम्मा",
        "placed": "राखिएको", "no_orders": "अहिलेसम्म अर्डर छैन।",
        "payment": {"UNPAID": "नतिरेको", "PARTIAL": "केही तिरेको", "PAID": "तिरेको"},
        "failed_heading": "पठाउन नसकिएका सन्देश",
        "failed_lead": "WhatsApp ले दिएको कारणसहित, नयाँ पहिले।",
        "to_whom": "कसलाई", "said": "सन्देश", "reason": "कारण", "when": "कहिले",
        "attempts": "प्रयास", "older": "पुराना", "unknown_person": "सदस्य होइन",
        "not_found_title": "भेटिएन", "not_found": "त्यो नम्बरको कोही छैन।",
        "health": "प्रणालीको अवस्था",
        "outbox": "पठाउन बाँकी जवाफ", "inbox": "सम्हाल्न बाँकी सन्देश",
        "oldest": "सबैभन्दा पुरानो {age}", "none_waiting": "कुनै बाँकी छैन",
        "failed_all": "नपुगेका सन्देश (सबै)", "by_reason": "कारण अनुसार",
        "ledger_check": "पछिल्लो खाता जाँच", "check_ok": "ठीक छ",
        "check_problems": "{count} समस्या", "check_never": "यो सर्भरले अहिलेसम्म जाँचेको छैन",
        "pool": "प्रयोगमा रहेका डाटाबेस जडान", "pool_of": "{max} मध्ये {used}",
        "errors": "सर्भर त्रुटि, पछिल्लो {minutes} मिनेट",
        "errors_of": "{requests} अनुरोधमध्ये {errors}",
        "units": {"s": "सेकेन्ड", "min": "मिनेट", "h": "घण्टा", "d": "दिन"},
    },
}


def routes(app: web.Application) -> None:
    app.router.add_get("/app/today", today_page)
    app.router.add_get("/app/users", users_page)
    app.router.add_get("/app/users/{ref}", person_page)
    app.router.add_post("/app/users/{ref}/approve", approve_post)
    app.router.add_post("/app/users/{ref}/block", block_post)
    app.router.add_post("/app/users/{ref}/unblock", unblock_post)
    app.router.add_post("/app/users/{ref}/limit", limit_post)
    app.router.add_get("/app/users/{ref}/statement.{fmt:pdf|csv}", statement_download)
    app.router.add_get("/app/messages/failed", failed_page)


def _lang(request: web.Request, user: User) -> Language:
    return render.page_language(request, user.language)


def _t(request: web.Request, lang: Language) -> Callable[[str], str]:
    """The chat's own words for order statuses and the like (locales' .po files)."""
    return partial(request.app[MESSAGES].gettext, lang)


def person_url(ref: str, **query: str) -> str:
    url = "/app/users/" + quote(ref, safe="+")
    return url + ("?" + urlencode(query) if query else "")


def _day() -> date:
    return datetime.now(formats.NEPAL_TIME).date()


@signed_in(*STAFF_ROLES)
async def today_page(request: web.Request, user: User) -> web.StreamResponse:
    """Today's orders and their value, what is owed and overdue, messages failed, registrations
    waiting: the admin report chat's "report" sends, from the read replica if there is one (no
    action here leads back to this page); the health panel's queues from the primary."""
    settings = request.app[SETTINGS]
    async with reading(request.app) as conn:
        report = await reports.admin_report(conn, user, _day())
    async with request.app[POOL].acquire() as conn:
        health = await metrics.glance(conn, stale_seconds=max(
            30.0, 3 * settings.metrics_refresh_seconds))
    return render.render(request, "staff_today.html", WORDS, report=report,
                         mask=numbers.mask, health=health, age=age,
                         outbox_slow=settings.alert_outbox_oldest_seconds,
                         inbox_slow=INBOX_SLOW_SECONDS, reasons_shown=REASONS_SHOWN,
                         recent_minutes=metrics.RECENT_MINUTES)


def age(seconds: float) -> tuple[int, str]:
    """An age as a whole number of its largest sensible unit: (value, "s" | "min" | "h" | "d")."""
    whole = int(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if whole >= size * (2 if unit == "d" else 1):
            return whole // size, unit
    return whole, "s"


def _choice(value: str | None, allowed: tuple[str, ...]) -> str | None:
    return value if value in allowed else None


@signed_in(*STAFF_ROLES)
async def users_page(request: web.Request, user: User) -> web.StreamResponse:
    """Everyone, those waiting for a decision first; filter by role, status, area, name."""
    q = request.query
    role = _choice(q.get("role"), ROLES)
    standing = _choice(q.get("standing"), STANDINGS)
    area, text = q.get("area", "")[:80], q.get("q", "")[:80]
    page = int(q["page"]) if q.get("page", "").isdigit() and len(q["page"]) < 6 else 0
    async with request.app[POOL].acquire() as conn, conn.transaction():
        found, more = await people.search(
            conn, user, role=role, standing=standing, area=area, text=text,  # type: ignore[arg-type]
            limit=PAGE_SIZE, offset=page * PAGE_SIZE)
    more_url = None
    if more:
        more_url = "/app/users?" + urlencode({**{k: v for k, v in q.items() if k != "page"},
                                              "page": str(page + 1)})
    return render.render(request, "staff_users.html", WORDS, found=found, role=role or "",
                         standing=standing or "", area=area, text=text, roles=ROLES,
                         standings=STANDINGS, more_url=more_url, person_url=person_url,
                         starter=request.app[SETTINGS].starter_credit_limit_npr * 100)


async def _target(conn: asyncpg.Connection, ref: str) -> User | None:
    if len(ref) > 64:
        return None
    return await users.by_public_id(conn, ref)


def _dates(request: web.Request) -> tuple[date | None, date, bool]:
    """The statement's period from `?from=&to=` (default: the last 30 days); whether they were
    readable."""
    today = _day()
    try:
        end = date.fromisoformat(request.query["to"]) if request.query.get("to") else today
        start = (date.fromisoformat(request.query["from"]) if request.query.get("from")
                 else end - timedelta(days=STATEMENT_DAYS))
    except ValueError:
        return today - timedelta(days=STATEMENT_DAYS), today, False
    if start > end or end.year > 2200 or start.year < 2000:
        return today - timedelta(days=STATEMENT_DAYS), today, False
    return start, end, True


async def _person_context(conn: asyncpg.Connection, request: web.Request, user: User,
                          target: User) -> dict[str, Any]:
    """What one person's page shows: who they are, and for a shop its credit, dues, score,
    statement and orders."""
    found = await people.one(conn, user, target.id)
    context: dict[str, Any] = {"person": found, "retailer": None}
    if found is None or await users.shop(conn, target.id) is None or target.role != "RETAILER":
        return context
    start, end, dates_ok = _dates(request)
    statement = await statements.statement(conn, user, retailer_id=target.id, start=start,
                                           end=end)
    context["retailer"] = {
        "position": await credit.position(conn, target.id),
        "balances": await reports.balances(conn, target.id, actor=user),
        "score": await scores.for_retailer(conn, user, target.id),
        "statement": statement,
        "lines": statement.lines[-STATEMENT_SHOWN:],
        "orders": await reports.history(conn, target.id, actor=user, limit=ORDERS_SHOWN),
        "start": start, "end": end, "dates_ok": dates_ok,
    }
    return context


def _not_found(request: web.Request) -> web.Response:
    return render.render(request, "message.html", WORDS, status=404,
                         title_key="not_found_title", text_key="not_found")


async def _show_person(request: web.Request, user: User, *, status: int = 200,
                       error: str | None = None, fields: dict[str, str] | None = None,
                       ) -> web.Response:
    ref = request.match_info["ref"]
    async with request.app[POOL].acquire() as conn, conn.transaction():
        target = await _target(conn, ref)
        if target is None:
            return _not_found(request)
        context = await _person_context(conn, request, user, target)
    lang = _lang(request, user)
    done = request.query.get("done", "")
    done_text = None
    if done in WORDS[lang]["done"] and context["person"] is not None:
        done_text = WORDS[lang]["done"][done].format(name=context["person"].user.name)
    return render.render(request, "staff_person.html", WORDS, status=status, error=error,
                         done=done_text, fields=fields or {}, ref=ref,
                         url=person_url(ref), t=_t(request, lang), viewer=user,
                         starter=request.app[SETTINGS].starter_credit_limit_npr * 100,
                         **context)


@signed_in(*STAFF_ROLES)
async def person_page(request: web.Request, user: User) -> web.StreamResponse:
    """One person: where they stand and the decisions staff can take; for a shop, its credit,
    what it owes each vendor, its score and why, its statement and its orders."""
    return await _show_person(request, user)


def refusal(request: web.Request, lang: Language, error: LedgerError, action: str) -> str:
    """Why the ledger said no, in the words chat uses (`Turn.refuse`)."""
    messages = request.app[MESSAGES]
    if isinstance(error, NotPermitted):
        return messages.render(lang, "not_allowed", action=action)
    if isinstance(error, AlreadyDone):
        return messages.render(lang, "already_done", **error.params)
    return messages.render(lang, "error", key=error.key, params=error.params)


async def _decide(request: web.Request, user: User, action: str,
                  act: Callable[[asyncpg.Connection, User, dict[str, str]], Any],
                  check: Callable[[dict[str, str], Language], str | None] | None = None,
                  ) -> web.StreamResponse:
    """Read the form (CSRF checked), run `act` in one transaction with the outbound queue, and
    redirect to the person's page saying what was done; a refusal shows the page with why."""
    fields = await form(request)
    lang = _lang(request, user)
    problem = check(fields, lang) if check else None
    if problem:
        return await _show_person(request, user, status=422, error=problem, fields=fields)
    ref = request.match_info["ref"]
    try:
        async with request.app[POOL].acquire() as conn, conn.transaction():
            target = await _target(conn, ref)
            if target is None:
                return _not_found(request)
            await act(conn, target, fields)
    except LedgerError as error:
        return await _show_person(request, user, status=status_of(error),
                                  error=refusal(request, lang, error, action), fields=fields)
    raise web.HTTPSeeOther(person_url(ref, done=_DONE[action]))


_DONE = {"approve": "approved", "block": "blocked", "unblock": "unblocked", "limit": "limit"}


@signed_in(*STAFF_ROLES)
async def approve_post(request: web.Request, user: User) -> web.StreamResponse:
    """Approve a waiting registration as a shop or a wholesaler; they are told on WhatsApp."""

    def check(fields: dict[str, str], lang: Language) -> str | None:
        return None if fields.get("role") in ("RETAILER", "VENDOR") else WORDS[lang]["bad_role"]

    async def act(conn: asyncpg.Connection, target: User, fields: dict[str, str]) -> None:
        done = await staff.approve(
            conn, user, target, fields["role"],  # type: ignore[arg-type]
            starter_limit_paisa=request.app[SETTINGS].starter_credit_limit_npr * 100)
        await request.app[OUTBOUND].send(conn, done.tell)

    return await _decide(request, user, "approve", act, check)


@signed_in(*STAFF_ROLES)
async def block_post(request: web.Request, user: User) -> web.StreamResponse:
    """Block someone (a reason for the record); their open orders are settled as in chat."""

    async def act(conn: asyncpg.Connection, target: User, fields: dict[str, str]) -> None:
        _, tell = await staff.block(conn, await catalog_store.parser(conn), user, target,
                                    fields.get("reason", "")[:500])
        await request.app[OUTBOUND].send(conn, tell)

    return await _decide(request, user, "block", act)


@signed_in(*STAFF_ROLES)
async def unblock_post(request: web.Request, user: User) -> web.StreamResponse:
    """Let a blocked person back as they were."""

    async def act(conn: asyncpg.Connection, target: User, fields: dict[str, str]) -> None:
        _, tell = await staff.unblock(conn, user, target, fields.get("reason", "")[:500])
        await request.app[OUTBOUND].send(conn, tell)

    return await _decide(request, user, "unblock", act)


@signed_in(*STAFF_ROLES)
async def limit_post(request: web.Request, user: User) -> web.StreamResponse:
    """Set a shop's credit limit with a reason (admins; the service refuses operators)."""

    def check(fields: dict[str, str], lang: Language) -> str | None:
        return None if numbers.paisa(fields.get("rupees", "")[:20]) is not None else (
            WORDS[lang]["bad_limit"])

    async def act(conn: asyncpg.Connection, target: User, fields: dict[str, str]) -> None:
        amount = numbers.paisa(fields["rupees"][:20])
        assert amount is not None
        _, tell = await staff.set_limit(conn, user, target.id, amount,
                                        fields.get("reason", "")[:500])
        await request.app[OUTBOUND].send(conn, tell)

    return await _decide(request, user, "limit", act, check)


@signed_in(*STAFF_ROLES)
async def statement_download(request: web.Request, user: User) -> web.StreamResponse:
    """A shop's statement for the period asked, as the PDF or CSV chat and the CLI make."""
    fmt = request.match_info["fmt"]
    start, end, _ = _dates(request)
    async with request.app[POOL].acquire() as conn, conn.transaction():
        target = await _target(conn, request.match_info["ref"])
        if target is None or target.role != "RETAILER":
            return _not_found(request)
        found = await statements.statement(conn, user, retailer_id=target.id, start=start,
                                           end=end)
    lang = _lang(request, user)
    body = await pageparts.statement_file(request, found, fmt, lang)
    name = statement_doc.filename(found, fmt)  # type: ignore[arg-type]
    return web.Response(body=body, content_type="application/pdf" if fmt == "pdf" else "text/csv",
                        headers={"Content-Disposition": f'attachment; filename="{name}"',
                                 "Cache-Control": "no-store"})


@signed_in(*STAFF_ROLES)
async def failed_page(request: web.Request, user: User) -> web.StreamResponse:
    """Messages the outbox could not deliver, with the reason, newest first."""
    before_raw = request.query.get("before", "")
    before = int(before_raw) if before_raw.isdigit() and len(before_raw) < 19 else None
    async with request.app[POOL].acquire() as conn, conn.transaction():
        rows = await reports.failed_messages(conn, user, before_id=before, limit=PAGE_SIZE)
    older = f"/app/messages/failed?before={rows[-1].id}" if len(rows) == PAGE_SIZE else None
    return render.render(request, "staff_failed.html", WORDS, rows=rows, older=older,
                         mask=numbers.mask, person_url=person_url)
