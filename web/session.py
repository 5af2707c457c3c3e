"""The browser's side of signing in: the session cookie, CSRF tokens for forms, the client's
address, and the signed-in session of a request (looked up once per request).

The session cookie holds the session's token (only its hash is stored): HttpOnly, SameSite=Lax,
Secure unless the page was asked for on localhost or a loopback address. Every form carries a
CSRF token in a hidden field: for a signed-in person an HMAC of their session token, before
signing in a random value also kept in a cookie (double submit); a POST is refused unless the
field matches (`hmac.compare_digest`) and, when the browser sends `Origin`, it is this site.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from aiohttp import web

from bot.appkeys import POOL, SETTINGS
from bot.security import local_host
from ledger import auth

SESSION_COOKIE = "khaacho_session"
CSRF_COOKIE = "khaacho_csrf"
CSRF_FIELD = "csrf"


@dataclass(frozen=True)
class _Signed:
    """The request's web session (None: nobody signed in) and the token it came with."""

    session: auth.Session | None
    token: str


_SIGNED = web.RequestKey("signed_in", _Signed)
_NEW_CSRF = web.RequestKey("new_csrf", str)


def secure_cookies(request: web.Request) -> bool:
    """Cookies are Secure except for a page asked for on this machine (plain HTTP there)."""
    return not local_host(request.host)


def client_address(request: web.Request) -> str:
    """Who is asking, for limits per address: the TCP peer, or behind a trusted reverse proxy
    (WEB_TRUST_FORWARDED_FOR) the address it appended last to X-Forwarded-For. An IPv6 client
    counts by its /64, which one subscriber usually holds whole."""
    raw = request.remote or ""
    if request.app[SETTINGS].web_trust_forwarded_for:
        raw = request.headers.get("X-Forwarded-For", "").split(",")[-1].strip() or raw
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        return (request.remote or "unknown")[:64]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


async def load_session(request: web.Request) -> auth.Session | None:
    """The web session of the request's cookie, if live (looked up once per request)."""
    if _SIGNED in request:
        return request[_SIGNED].session
    token = request.cookies.get(SESSION_COOKIE, "")
    session = None
    if token:
        async with request.app[POOL].acquire() as conn:
            session = await auth.authenticate(conn, token, ("web",))
    request[_SIGNED] = _Signed(session, token if session is not None else "")
    return session


def remember(request: web.Request, session: auth.Session | None, token: str = "") -> None:
    """Use `session` for the rest of this request (just signed in, or just signed out)."""
    request[_SIGNED] = _Signed(session, token if session is not None else "")


def session_of(request: web.Request) -> auth.Session | None:
    """The session `load_session` found for this request (None before it ran)."""
    signed = request.get(_SIGNED)
    return signed.session if signed is not None else None


def set_session_cookie(request: web.Request, response: web.StreamResponse,
                       issued: auth.Issued) -> None:
    max_age = max(1, int((issued.expires_at - datetime.now(UTC)).total_seconds()))
    response.set_cookie(SESSION_COOKIE, issued.token, max_age=max_age, path="/", httponly=True,
                        samesite="Lax", secure=secure_cookies(request))


def clear_session_cookie(request: web.Request, response: web.StreamResponse) -> None:
    response.del_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="Lax",
                        secure=secure_cookies(request))


def _token(request: web.Request) -> str:
    signed = request.get(_SIGNED)
    return signed.token if signed is not None else ""


def csrf_token(request: web.Request) -> str:
    """The value forms on this page carry in their hidden `csrf` field."""
    token = _token(request)
    if token:
        return hmac.new(token.encode(), b"khaacho csrf", hashlib.sha256).hexdigest()
    anonymous = request.get(_NEW_CSRF) or request.cookies.get(CSRF_COOKIE, "")
    if not (32 <= len(anonymous) <= 100 and anonymous.isalnum()):
        anonymous = secrets.token_hex(24)
        request[_NEW_CSRF] = anonymous
    return str(anonymous)


def set_new_csrf_cookie(request: web.Request, response: web.StreamResponse) -> None:
    """Keep the anonymous CSRF value a page just made, so its form can be checked."""
    made = request.get(_NEW_CSRF)
    if made:
        response.set_cookie(CSRF_COOKIE, made, path="/", httponly=True, samesite="Lax",
                            secure=secure_cookies(request))


def same_origin(request: web.Request) -> bool:
    """No `Origin` (older browsers, some same-origin GET-to-POST flows), or this site's."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    return urlsplit(origin).netloc.lower() == request.host.lower()


def csrf_ok(request: web.Request, given: str) -> bool:
    """Whether a form's hidden field `given` is this session's (or this browser's) token and
    the request came from this site."""
    if not same_origin(request):
        return False
    token = _token(request)
    if token:
        expected = csrf_token(request)
    else:
        expected = request.cookies.get(CSRF_COOKIE, "")
        if not expected:
            return False
    return hmac.compare_digest(given.encode(), expected.encode())
