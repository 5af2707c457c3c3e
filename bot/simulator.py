"""The web chat simulator: a page that chats with the bot through the local channel.

It lets anyone speak as any phone number, so it is served only when SIMULATOR_ENABLED is set and
no WhatsApp setting is, and only to clients on this machine.
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

from aiohttp import web

from bot import local, safejson
from bot.appkeys import POOL, SETTINGS
from bot.security import BodyTimeout, body_timeout, loopback_only, read_body
from bot.webhook import error
from locales.numbers import PhoneError, normalize_phone

PAGE = Path(__file__).parent / "static" / "simulator.html"
MAX_TEXT = 4096
MAX_BODY_BYTES = 64 * 1024
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_MAX_ID = 2**63  # ids are bigint


def _inline_hashes(tag: str, html: str) -> str:
    """CSP hash sources of the page's inline <script> or <style> blocks, exactly as written."""
    blocks = re.findall(rf"<{tag}>(.*?)</{tag}>", html, re.DOTALL)
    return " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(b.encode()).digest()).decode() + "'"
        for b in blocks)


def page_policy(html: str) -> str:
    """The page runs only its own inline script and style, and talks only to this server."""
    return (f"default-src 'none'; script-src {_inline_hashes('script', html)}; "
            f"style-src {_inline_hashes('style', html)}; connect-src 'self'; "
            "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


POLICY = page_policy(PAGE.read_text("utf-8"))


def routes(app: web.Application) -> None:
    app.router.add_get("/simulator", loopback_only(page))
    app.router.add_post("/simulator/send", loopback_only(send))
    app.router.add_get("/simulator/messages", loopback_only(messages))


async def page(request: web.Request) -> web.StreamResponse:
    return web.FileResponse(PAGE, headers={"Content-Security-Policy": POLICY})


def _wa_id(raw: object) -> str:
    if not isinstance(raw, str):
        raise web.HTTPBadRequest(
            text='{"error": "phone is required"}', content_type="application/json")
    try:
        return normalize_phone(raw).lstrip("+")
    except PhoneError as exc:
        raise web.HTTPBadRequest(
            text=f'{{"error": "{exc}"}}', content_type="application/json") from exc


async def send(request: web.Request) -> web.Response:
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        return error(413, "body too large")
    try:
        raw = await read_body(request, request.app[SETTINGS].http_body_timeout_seconds)
        body = safejson.loads(raw, max_depth=4).value
    except BodyTimeout:
        return body_timeout()
    except safejson.Unreadable:
        return error(400, "body must be JSON")
    if not isinstance(body, dict):
        return error(400, "body must be a JSON object")
    wa_id = _wa_id(body.get("phone"))
    text, choice_id = body.get("text"), body.get("choice_id")
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT:
        return error(400, f"text must be 1 to {MAX_TEXT} characters")
    if _UNSTORABLE.search(text) or (isinstance(choice_id, str) and _UNSTORABLE.search(choice_id)):
        return error(400, "text holds a NUL or a lone surrogate")
    choice = None
    if choice_id is not None:
        if not isinstance(choice_id, str) or len(choice_id) > 256:
            return error(400, "choice_id must be a string")
        choice = local.Choice(choice_id, text[:20])
    async with request.app[POOL].acquire() as conn:
        await local.say(conn, wa_id, text, choice)
    return web.json_response({"ok": True}, status=202)


async def messages(request: web.Request) -> web.Response:
    """Both sides of the conversation after `after_in` (the person's messages) and `after`
    (the bot's delivered replies), oldest first: after a reload the page shows it all again."""
    wa_id = _wa_id(request.query.get("phone"))
    try:
        after_out = int(request.query.get("after", "0"))
        after_in = int(request.query.get("after_in", "0"))
    except ValueError:
        return error(400, "after and after_in must be integers")
    if not (0 <= after_out < _MAX_ID and 0 <= after_in < _MAX_ID):
        return error(400, "after and after_in must be ids")
    async with request.app[POOL].acquire() as conn:
        said = await local.conversation(conn, wa_id, after_in, after_out)
    return web.json_response({"messages": [
        {"from": s.side, "id": s.id, "text": s.text, "failed": s.failed,
         "choices": [{"id": c.id, "title": c.title} for c in s.choices]}
        for s in said
    ]})
