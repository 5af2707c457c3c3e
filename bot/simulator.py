"""The web chat simulator: a page that chats with the bot through the local channel.

Only served when WhatsApp is not configured: it lets anyone speak as any phone number.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from bot import local
from bot.appkeys import POOL
from bot.webhook import error
from locales.numbers import PhoneError, normalize_phone

PAGE = Path(__file__).parent / "static" / "simulator.html"
MAX_TEXT = 4096


def routes(app: web.Application) -> None:
    app.router.add_get("/simulator", page)
    app.router.add_post("/simulator/send", send)
    app.router.add_get("/simulator/messages", messages)


async def page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(PAGE)


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
    try:
        body = await request.json()
    except ValueError:
        return error(400, "body must be JSON")
    if not isinstance(body, dict):
        return error(400, "body must be a JSON object")
    wa_id = _wa_id(body.get("phone"))
    text, choice_id = body.get("text"), body.get("choice_id")
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT:
        return error(400, f"text must be 1 to {MAX_TEXT} characters")
    choice = None
    if choice_id is not None:
        if not isinstance(choice_id, str) or len(choice_id) > 256:
            return error(400, "choice_id must be a string")
        choice = local.Choice(choice_id, text[:20])
    async with request.app[POOL].acquire() as conn:
        await local.say(conn, wa_id, text, choice)
    return web.json_response({"ok": True}, status=202)


async def messages(request: web.Request) -> web.Response:
    wa_id = _wa_id(request.query.get("phone"))
    try:
        after = int(request.query.get("after", "0"))
    except ValueError:
        return error(400, "after must be an integer")
    async with request.app[POOL].acquire() as conn:
        shown = await local.replies(conn, wa_id, after)
    return web.json_response({"messages": [
        {"id": s.outbox_id, "text": s.text, "failed": s.failed,
         "choices": [{"id": c.id, "title": c.title} for c in s.choices]}
        for s in shown
    ]})
