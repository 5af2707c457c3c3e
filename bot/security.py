"""HTTP hardening shared by every route: security headers on every response, no version in the
`Server` header, loopback-only pages, timeouts for slow clients, and who may read /metrics."""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web, web_response

from bot.appkeys import SETTINGS
from bot.settings import Settings

SERVER_NAME = "khaacho"

# aiohttp names itself and its version in `Server` on every response, also the ones it writes
# before any app code runs (a malformed request line gets its 400 there): replace the default.
setattr(web_response, "SERVER_SOFTWARE", SERVER_NAME)  # noqa: B010 - not exported, still used

# JSON and text need nothing from a browser; the simulator page sets its own, narrower policy.
DEFAULT_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

_LOCAL_NAMES = {"localhost", "localhost.localdomain"}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def add_headers(request: web.Request, response: web.StreamResponse) -> None:
    """`on_response_prepare`: runs for every response the app makes, errors and 404s included."""
    headers = response.headers
    headers["Server"] = SERVER_NAME
    headers["X-Content-Type-Options"] = "nosniff"
    headers["X-Frame-Options"] = "DENY"
    # Not "no-referrer": under it Chromium sends `Origin: null` with a form's POST, which the
    # CSRF check (rightly) refuses, so nobody could sign in. "same-origin" still sends nothing
    # to other sites. A page may ask for less (a bank report's link: "no-referrer").
    headers.setdefault("Referrer-Policy", "same-origin")
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    headers.setdefault("Content-Security-Policy", DEFAULT_CSP)
    max_age = request.app[SETTINGS].hsts_max_age_seconds
    if max_age and not _local_host(request.host):
        # Browsers ignore it over plain HTTP, so it is safe behind a TLS proxy and harmless
        # without one; never for localhost, which a developer also opens over HTTP.
        headers["Strict-Transport-Security"] = f"max-age={max_age}"


def _local_host(host: str) -> bool:
    if host.startswith("[") and "]" in host:  # [::1]:8080
        name = host[1:host.index("]")]
    else:
        name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    name = name.lower()
    if name in _LOCAL_NAMES or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def local_host(host: str) -> bool:
    """`host` (a request's Host) names this machine: localhost or a loopback address."""
    return _local_host(host)


def is_loopback(request: web.Request) -> bool:
    """The client connected from this machine (over TCP; anything unknown is not)."""
    try:
        address = ipaddress.ip_address(request.remote or "")
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def forbidden(message: str) -> web.Response:
    return web.json_response({"error": message}, status=403)


def loopback_only(handler: Handler) -> Handler:
    """Serve `handler` only to clients on this machine; others get 403 (JSON)."""

    async def guarded(request: web.Request) -> web.StreamResponse:
        if not is_loopback(request):
            return forbidden("only served to this machine")
        return await handler(request)

    return guarded


def metrics_refusal(request: web.Request) -> web.Response | None:
    """None when the client may read /metrics: with METRICS_TOKEN, whoever sends it as a bearer
    token; without one, clients on this machine only."""
    token = request.app[SETTINGS].metrics_token
    if token is None or not token.get_secret_value():
        return None if is_loopback(request) else forbidden(
            "metrics are served to this machine only (set METRICS_TOKEN to scrape remotely)")
    given = request.headers.get("Authorization", "")
    expected = "Bearer " + token.get_secret_value()
    if hmac.compare_digest(given.encode(), expected.encode()):
        return None
    return web.json_response({"error": "a bearer token is required"}, status=401,
                             headers={"WWW-Authenticate": 'Bearer realm="metrics"'})


class BodyTimeout(Exception):
    """The request body did not arrive in time."""


async def read_body(request: web.Request, timeout: float) -> bytes:
    """The whole body, or BodyTimeout when it trickles in slower than `timeout` seconds."""
    try:
        async with asyncio.timeout(timeout):
            return await request.read()
    except TimeoutError:
        raise BodyTimeout from None


def body_timeout() -> web.Response:
    response = web.json_response({"error": "request body too slow"}, status=408)
    response.force_close()
    return response


def server_options(settings: Settings) -> dict[str, Any]:
    """Options for aiohttp's request handler (`web.run_app`, `AppRunner`).

    aiohttp closes a connection that has no complete request after `keepalive_timeout`: that
    is the idle keep-alive limit and the time a client gets to send its headers. A body still
    arriving after the answer was sent is read for at most `lingering_time`, then cut.
    """
    return {
        "keepalive_timeout": settings.http_idle_timeout_seconds,
        "lingering_time": settings.http_body_timeout_seconds,
    }
