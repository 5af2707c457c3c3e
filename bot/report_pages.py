"""The bank report's link, as a bank officer opens it: `GET /r/<token>` (the report as a page,
`?lang=ne|en`, default the shop's language) and `GET /r/<token>/pdf` (the signed PDF). Each
opening is logged with the view, in one transaction, and the shop is told the first time.

The token is the only credential: 256 random bits (`secrets.token_urlsafe(32)`), so no one can
guess one, however many requests they make; its form is checked before any query, and the
database is asked by the token's SHA-256. Nothing of these pages may be cached, indexed or passed
on as a referrer. An unknown link is a 404, an expired or revoked one a 410, both in English and
Nepali and without a word of the report.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal

import jinja2
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bot import report_doc
from bot.appkeys import MESSAGES, OUTBOUND, POOL, SETTINGS
from bot.pages import POLICY, TEMPLATES
from dialogs.retailer import bank_reports as chat
from ledger import bank_reports, report_signing
from ledger.bank_reports import Opened
from ledger.errors import BankReportNotFound
from locales import Language, formats

log = logging.getLogger(__name__)

PRIVATE = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow, noarchive",
    "Content-Security-Policy": POLICY,
}
_KEY = web.AppKey("report_signing_key", dict)
_ENV = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                          undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)

WORDS: dict[Language, dict[str, str]] = {
    "en": {
        "brand": "Khaacho", "other_language": "नेपालीमा पढ्नुहोस्",
        "shared": "Shared by the shop with {institution} on {consented}. This link works until "
                  "{expires} Nepal time; every opening is recorded and the shop can revoke it.",
        "pdf": "Download the signed PDF",
        "not_found_title": "This report link is not valid",
        "not_found": "Please check that the whole link was copied. If it still does not open, "
                     "ask the shop that shared it for a new one.",
        "expired_title": "This report link has expired",
        "expired": "Shops share their report for a few days only. If you still need it, please "
                   "ask the shop to share a new link with you.",
        "revoked_title": "The shop has withdrawn this report",
        "revoked": "The shop chose to stop sharing this report, so it can no longer be opened. "
                   "If you still need it, please ask the shop.",
        "unavailable_title": "This report cannot be shown just now",
        "unavailable": "Please try again later. We are sorry for the trouble.",
    },
    "ne": {
        "brand": "खाचो", "other_language": "Read in English",
        "shared": "पसलले {consented} मा {institution} लाई दिएको। यो लिङ्क नेपाल समय {expires} सम्म "
                  "चल्छ; हरेक पटक खोलेको लेखिन्छ र पसलले जुनसुकै बेला फिर्ता लिन सक्छ।",
        "pdf": "हस्ताक्षर गरिएको PDF डाउनलोड गर्नुहोस्",
        "not_found_title": "यो रिपोर्ट लिङ्क मिलेन",
        "not_found": "पूरै लिङ्क कपी भएको छ कि हेर्नुहोस्। अझै नखुले, दिने पसलसँग नयाँ लिङ्क "
                     "माग्नुहोस्।",
        "expired_title": "यो रिपोर्ट लिङ्कको म्याद सकियो",
        "expired": "पसलले रिपोर्ट केही दिनका लागि मात्र दिन्छ। अझै चाहिए, पसललाई नयाँ लिङ्क "
                   "पठाइदिन अनुरोध गर्नुहोस्।",
        "revoked_title": "पसलले यो रिपोर्ट फिर्ता लिएको छ",
        "revoked": "पसलले यो रिपोर्ट दिन बन्द गरेकाले अब खुल्दैन। अझै चाहिए, पसलसँग "
                   "सोध्नुहोस्।",
        "unavailable_title": "यो रिपोर्ट अहिले देखाउन सकिएन",
        "unavailable": "केही बेरपछि फेरि प्रयास गर्नुहोस्। असुविधाका लागि माफ गर्नुहोस्।",
    },
}


STYLESHEET = Path(__file__).parent / "static" / "report.css"


def routes(app: web.Application) -> None:
    app[_KEY] = {}
    app.router.add_get("/r/{token}", page)
    app.router.add_get("/r/{token}/pdf", pdf)
    app.router.add_get("/static/report.css", stylesheet)


async def stylesheet(request: web.Request) -> web.StreamResponse:
    return web.FileResponse(STYLESHEET, headers={"Cache-Control": "public, max-age=300"})


def _asked_language(request: web.Request) -> Language | None:
    asked = request.query.get("lang")
    return ("ne" if asked == "ne" else "en") if asked in ("en", "ne") else None


async def _open(request: web.Request, kind: Literal["page", "pdf"]
                ) -> tuple[Opened | None, web.Response | None]:
    """Open the link and log the view; the first view's notice to the shop is queued in the
    same transaction. A response when there is nothing to show."""
    token = request.match_info["token"]
    if not bank_reports.well_formed(token):
        return None, _ended(request, "not_found", 404)
    try:
        _signing_key(request)  # before the view is logged: a report that cannot be signed is
    except report_signing.SigningKeyError as error:  # not shown, nor counted as seen
        log.error("bank reports cannot be signed: %s", error)
        return None, _ended(request, "unavailable", 503)
    app = request.app
    try:
        async with app[POOL].acquire() as conn, conn.transaction():
            opened = await bank_reports.open_link(
                conn, token, kind=kind, client_address=request.remote,
                user_agent=request.headers.get("User-Agent"))
            if opened.first_view:
                await app[OUTBOUND].send(conn, [chat.opened(opened.report, opened.at)])
    except BankReportNotFound:
        return None, _ended(request, "not_found", 404)
    log.info("bank report %s %s: %s", opened.report.public_id, kind, opened.outcome)
    if opened.outcome != "shown":
        return None, _ended(request, opened.outcome, 410)
    return opened, None


async def page(request: web.Request) -> web.Response:
    """The report as a page, in the shop's language unless `?lang=` says otherwise."""
    opened, refused = await _open(request, "page")
    if refused is not None:
        return refused
    assert opened is not None
    lang = _asked_language(request) or opened.report.language
    other: Language = "en" if lang == "ne" else "ne"
    words = WORDS[lang]
    report = opened.report
    shared = words["shared"].format(
        institution=report.institution, consented=formats.day(report.consented_at, lang),
        expires=f"{formats.day(report.expires_at, lang)} {formats.clock(report.expires_at, lang)}")
    key = _signing_key(request)
    document = report_doc.html(opened.content, lang, request.app[MESSAGES],
                               fingerprint=report_signing.fingerprint(key.public_key()),
                               verify_url=_verify_url(request))
    bar = _ENV.get_template("report_link.html").render(
        lang=lang, other=other, w=words, shared=shared, token=request.match_info["token"])
    # The report's own page (bot/report_doc.html), with what the link adds at the top of it.
    assert "<main>" in document, "the report page has a <main> to put the link's bar in"
    html = document.replace("<main>", "<main>\n" + bar, 1)
    return web.Response(text=html, content_type="text/html", charset="utf-8",
                        headers={**PRIVATE, "Content-Language": lang})


async def pdf(request: web.Request) -> web.Response:
    """The signed PDF of the report, as an attachment."""
    opened, refused = await _open(request, "pdf")
    if refused is not None:
        return refused
    assert opened is not None
    lang = _asked_language(request) or opened.report.language
    content = report_doc.pdf(opened.content, lang, request.app[MESSAGES], _signing_key(request),
                             verify_url=_verify_url(request))
    name = f"khaacho-report-{opened.report.public_id}-{lang}.pdf"
    return web.Response(body=content, content_type="application/pdf", headers={
        **PRIVATE, "Content-Disposition": f'attachment; filename="{name}"'})


def _signing_key(request: web.Request) -> Ed25519PrivateKey:
    """The platform's key (`report_doc.signing_key`: REPORT_SIGNING_KEY, or made once locally),
    loaded once per app."""
    cache: dict[str, Ed25519PrivateKey] = request.app[_KEY]
    if "key" not in cache:
        cache["key"] = report_doc.signing_key(request.app[SETTINGS])
    return cache["key"]


def _verify_url(request: web.Request) -> str:
    """Where a bank checks the PDF it downloaded (bot/verify_pages.py)."""
    return f"{request.app[SETTINGS].public_base_url.rstrip('/')}/verify"


def _ended(request: web.Request, why: str, status: int) -> web.Response:
    """404 (unknown), 410 (expired, revoked) or 503 (cannot be signed now): both languages,
    the asked one first, polite, nothing of the report."""
    first: Language = _asked_language(request) or "en"
    order: list[Language] = [first, "en" if first == "ne" else "ne"]
    html = _ENV.get_template("report_ended.html").render(
        lang=first, parts=[(lang, WORDS[lang][f"{why}_title"], WORDS[lang][why])
                           for lang in order], brand=WORDS[first]["brand"])
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8",
                        headers=PRIVATE)
