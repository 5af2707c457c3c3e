"""Signing in on the web: /signin (phone) → /signin/code (the code sent on WhatsApp) → the page
asked for (else /app); /signout and /signout/everywhere. Every form carries the CSRF token."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from aiohttp import web

from bot.appkeys import MESSAGES, POOL, SETTINGS
from ledger import auth
from ledger.errors import CodeRejected, RateLimited
from locales import Language
from locales.numbers import PhoneError, normalize_phone
from web import render
from web.auth import page_user, send_code, sign_in
from web.session import (
    CSRF_FIELD,
    clear_session_cookie,
    csrf_ok,
    load_session,
    remember,
    secure_cookies,
    set_session_cookie,
)

PHONE_COOKIE = "khaacho_signin_phone"
HOME = "/app"
MAX_FORM_BYTES = 4096

WORDS: dict[Language, dict[str, Any]] = {
    "en": {
        "title": "Sign in — Khaacho",
        "heading": "Sign in",
        "lead": "We send a code to your WhatsApp. Use the number you chat with Khaacho on.",
        "phone": "Mobile number",
        "phone_hint": "98XXXXXXXX",
        "send": "Send code",
        "bad_phone": "That does not look like a mobile number. Write it like 98XXXXXXXX.",
        "code_heading": "Enter the code",
        "code_lead": "If this number is registered, a code was sent to it on WhatsApp. "
                     "It works for {minutes} minutes.",
        "code": "6-digit code",
        "verify": "Sign in",
        "other_number": "Use another number",
        "resend": "Send a new code",
    },
    "ne": {
        "title": "साइन इन — खाचो",
        "heading": "साइन इन",
        "lead": "हामी तपाईंको WhatsApp मा कोड पठाउँछौं। खाचोसँग च्याट गर्ने नम्बर लेख्नुहोस्।",
        "phone": "मोबाइल नम्बर",
        "phone_hint": "९८XXXXXXXX",
        "send": "कोड पठाउनुहोस्",
        "bad_phone": "यो मोबाइल नम्बर जस्तो देखिएन। ९८XXXXXXXX जस्तै लेख्नुहोस्।",
        "code_heading": "कोड लेख्नुहोस्",
        "code_lead": "यो नम्बर दर्ता छ भने, यसमा WhatsApp मार्फत कोड पठाइयो। यो {minutes} "
                     "मिनेटसम्म चल्छ।",
        "code": "६ अङ्कको कोड",
        "verify": "साइन इन",
        "other_number": "अर्को नम्बर",
        "resend": "नयाँ कोड पठाउनुहोस्",
    },
}


def routes(app: web.Application) -> None:
    app.router.add_get("/signin", signin_page)
    app.router.add_post("/signin", signin_post)
    app.router.add_get("/signin/code", code_page)
    app.router.add_post("/signin/code", code_post)
    app.router.add_post("/signout", signout)
    app.router.add_post("/signout/everywhere", signout_everywhere)


def safe_next(value: str | None) -> str:
    """Only a path on this site: never another host (`//evil`, `/\\evil`, `https://…`)."""
    if (not value or not value.startswith("/") or value.startswith("//")
            or "\\" in value or len(value) > 500 or any(ord(c) < 32 for c in value)):
        return HOME
    return value


async def form(request: web.Request) -> dict[str, str]:
    """The posted form, refused (the "expired" page, 403) without a valid CSRF token."""
    if request.content_length is not None and request.content_length > MAX_FORM_BYTES:
        raise web.HTTPRequestEntityTooLarge(MAX_FORM_BYTES, request.content_length)
    data = await request.post()
    fields = {k: v for k, v in data.items() if isinstance(v, str)}
    if not csrf_ok(request, fields.get(CSRF_FIELD, "")):
        page = render.render(request, "message.html", None, status=403, title_key="expired_title",
                             text_key="expired")
        raise web.HTTPForbidden(text=page.text, content_type="text/html",
                                headers={"Content-Security-Policy": render.POLICY})
    return fields


def _minutes(request: web.Request) -> int:
    return request.app[SETTINGS].signin_code_minutes


async def signin_page(request: web.Request) -> web.StreamResponse:
    """The phone form (signed in already: on to the page asked for)."""
    nxt = safe_next(request.query.get("next"))
    if await load_session(request) is not None:
        raise web.HTTPSeeOther(nxt)
    return render.render(request, "signin.html", WORDS, next=nxt, phone="", error=None)


async def signin_post(request: web.Request) -> web.StreamResponse:
    """Send the code (or, for a number we do not know, only say so) and ask for it."""
    await load_session(request)
    fields = await form(request)
    nxt = safe_next(fields.get("next"))
    raw = fields.get("phone", "")[:40]
    try:
        phone = normalize_phone(raw)
    except PhoneError:
        return render.render(request, "signin.html", WORDS, status=422, next=nxt, phone=raw,
                             error=WORDS[render.page_language(request)]["bad_phone"])
    try:
        async with request.app[POOL].acquire() as conn, conn.transaction():
            await send_code(request, conn, phone)
    except RateLimited as exc:
        page = render.render(request, "signin.html", WORDS, status=429, next=nxt, phone=raw,
                             error=_error_text(request, exc))
        page.headers["Retry-After"] = str(exc.retry_after_seconds)
        return page
    response = web.HTTPSeeOther(f"/signin/code?next={_quoted(nxt)}")
    response.set_cookie(PHONE_COOKIE, phone, max_age=15 * 60, path="/signin", httponly=True,
                        samesite="Lax", secure=secure_cookies(request))
    raise response


def _quoted(path: str) -> str:
    return quote(path, safe="/")


def _error_text(request: web.Request, exc: CodeRejected | RateLimited) -> str:
    lang = render.page_language(request)
    return request.app[MESSAGES].render(lang, "error", key=exc.key, params=exc.params)


async def code_page(request: web.Request) -> web.StreamResponse:
    """The code form, for the number just given."""
    nxt = safe_next(request.query.get("next"))
    if await load_session(request) is not None:
        raise web.HTTPSeeOther(nxt)
    phone = request.cookies.get(PHONE_COOKIE)
    if not phone:
        raise web.HTTPSeeOther(f"/signin?next={_quoted(nxt)}")
    return render.render(request, "signin_code.html", WORDS, next=nxt, phone=phone, error=None,
                         minutes=_minutes(request))


async def code_post(request: web.Request) -> web.StreamResponse:
    """Check the code: signed in (a session cookie) and on to the page asked for."""
    await load_session(request)
    fields = await form(request)
    nxt = safe_next(fields.get("next"))
    phone = request.cookies.get(PHONE_COOKIE)
    if not phone:
        raise web.HTTPSeeOther(f"/signin?next={_quoted(nxt)}")
    code = fields.get("code", "")[:12]
    try:
        async with request.app[POOL].acquire() as conn, conn.transaction():
            _user, issued = await sign_in(request, conn, phone, code, "web",
                                          name=request.headers.get("User-Agent", "")[:120])
    except CodeRejected as exc:
        return render.render(request, "signin_code.html", WORDS, status=401, next=nxt,
                             phone=phone, error=_error_text(request, exc),
                             minutes=_minutes(request))
    response = web.HTTPSeeOther(nxt)
    set_session_cookie(request, response, issued)
    response.del_cookie(PHONE_COOKIE, path="/signin")
    raise response


async def signout(request: web.Request) -> web.StreamResponse:
    """Sign this browser out."""
    user = await page_user(request)
    await form(request)
    session = await load_session(request)
    assert session is not None
    async with request.app[POOL].acquire() as conn, conn.transaction():
        await auth.revoke(conn, user, session.id)
    return _signed_out(request)


async def signout_everywhere(request: web.Request) -> web.StreamResponse:
    """Sign out every browser, app and integration of this person."""
    user = await page_user(request)
    await form(request)
    async with request.app[POOL].acquire() as conn, conn.transaction():
        await auth.revoke_all(conn, user, user.id)
    return _signed_out(request)


def _signed_out(request: web.Request) -> web.StreamResponse:
    remember(request, None)
    response = web.HTTPSeeOther("/signin")
    clear_session_cookie(request, response)
    raise response
