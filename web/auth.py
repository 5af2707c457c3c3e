"""Who is signed in, for pages and the API, and signing in itself (shared by both).

For handlers built on this:

- `await page_user(request)` (or `page_user(request, roles=("VENDOR",))`): the signed-in
  `ledger.users.User`; redirects to /signin when nobody is, a 403 page for another role.
- `@signed_in("ADMIN", "OPERATOR")` on a page handler `async def h(request, user)`: the same,
  declared once.
- `await api_user(request)`: the user of the request's bearer token; a JSON 401 otherwise (the
  API registry calls it for every endpoint that declares roles).

The role check here is a first gate; the services check rights again for every action.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from functools import wraps
from urllib.parse import quote

import asyncpg
from aiohttp import web

from bot.appkeys import OUTBOUND, POOL, SETTINGS
from bot.settings import Settings
from ledger import auth, reminders
from ledger.errors import CodeRejected
from ledger.users import Role, User
from locales.replies import Param, Reply, Template
from web import render
from web.api.errors import ApiError
from web.session import client_address, load_session

_API_SESSION = web.RequestKey("api_session", auth.Session)

PageHandler = Callable[[web.Request, User], Awaitable[web.StreamResponse]]


def rules(settings: Settings) -> auth.Rules:
    """The sign-in rules the settings give (README: Web and API)."""
    return auth.Rules(
        code_ttl=timedelta(minutes=settings.signin_code_minutes),
        max_tries=settings.signin_code_tries,
        per_phone=settings.signin_codes_per_phone,
        phone_window=timedelta(minutes=settings.signin_phone_window_minutes),
        per_address=settings.signin_codes_per_address,
        address_window=timedelta(minutes=settings.signin_address_window_minutes),
        session_ttl=timedelta(days=settings.web_session_days),
        api_token_ttl=timedelta(days=settings.api_token_days),
    )


def _next_path(request: web.Request) -> str:
    return quote(request.path_qs, safe="/?=&")


async def page_user(request: web.Request, roles: tuple[Role, ...] | None = None) -> User:
    """The signed-in person; not signed in: a redirect to /signin (back here after); signed in
    with another role: the 403 page."""
    session = await load_session(request)
    if session is None:
        raise web.HTTPSeeOther(f"/signin?next={_next_path(request)}")
    if roles is not None and session.user.role not in roles:
        raise web.HTTPForbidden(
            text=render.render(request, "forbidden.html", status=403).text,
            content_type="text/html", headers={"Content-Security-Policy": render.POLICY})
    return session.user


def signed_in(*roles: Role) -> Callable[[PageHandler], Callable[[web.Request],
                                                                  Awaitable[web.StreamResponse]]]:
    """Declare who may open a page: `@signed_in("VENDOR")` (no roles: anyone signed in)."""

    def wrap(handler: PageHandler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        @wraps(handler)
        async def guarded(request: web.Request) -> web.StreamResponse:
            user = await page_user(request, roles or None)
            return await handler(request, user)

        return guarded

    return wrap


def bearer(request: web.Request) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


async def api_session(request: web.Request) -> auth.Session:
    """The live API or integration token of the request; a JSON 401 otherwise."""
    if _API_SESSION in request:
        return request[_API_SESSION]
    token = bearer(request)
    session = None
    if token:
        async with request.app[POOL].acquire() as conn:
            session = await auth.authenticate(conn, token, ("api", "integration"))
    if session is None:
        raise ApiError(401, "unauthorized",
                       headers={"WWW-Authenticate": 'Bearer realm="khaacho"'})
    request[_API_SESSION] = session
    return session


async def api_user(request: web.Request, roles: tuple[Role, ...] | None = None) -> User:
    """The user of the bearer token; 401 without a live one, 403 for a role not in `roles`."""
    user = (await api_session(request)).user
    if roles is not None and user.role not in roles:
        raise ApiError(403, "forbidden")
    return user


async def send_code(
    request: web.Request, conn: asyncpg.Connection, phone: str,
) -> None:
    """Ask for a sign-in code for `phone` and queue it to the person on WhatsApp, in this
    transaction. Unknown and blocked numbers get nothing, and the caller says the same thing.
    `RateLimited` past the limits."""
    settings = request.app[SETTINGS]
    made = await auth.request_code(conn, phone, client_address(request), rules(settings))
    if made.user is None or made.code is None:
        return
    heard = await reminders.last_heard(conn, made.user.id)
    window_open = heard is not None and made.expires_at - heard < reminders.WINDOW
    reply = Reply(
        "signin_code", {"code": made.code, "minutes": settings.signin_code_minutes},
        to_user_id=made.user.id,
        whatsapp_template=Template(settings.signin_template_name, (Param(made.code),)),
        # Outside the window the text would only bounce first; locally there is no window.
        window_closed=settings.whatsapp_enabled and not window_open,
    )
    await request.app[OUTBOUND].send(conn, [reply])


async def sign_in(
    request: web.Request, conn: asyncpg.Connection, phone: str, code: str, kind: auth.Kind,
    name: str = "",
) -> tuple[User, auth.Issued]:
    """Check the code and open a session (`web`) or an API token on `conn`; `CodeRejected`
    otherwise. The try is counted on a connection of its own and committed at once, so a
    rejection (which rolls the caller's transaction back) still counts it."""
    settings = request.app[SETTINGS]
    signin_rules = rules(settings)
    async with request.app[POOL].acquire() as own, own.transaction():
        verdict = await auth.verify_code(own, phone, code, signin_rules)
    if isinstance(verdict, CodeRejected):
        raise verdict
    ttl = signin_rules.session_ttl if kind == "web" else signin_rules.api_token_ttl
    issued = await auth.issue(conn, verdict, kind, ttl, name=name)
    return verdict, issued
