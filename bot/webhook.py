"""Meta's webhook contract: the GET verify handshake and signed POSTs of messages and statuses."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging

from aiohttp import web

from bot import metrics
from bot.appkeys import POOL, SETTINGS
from bot.store import store_webhook
from bot.whatsapp import PayloadError, read_webhook

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 3 * 1024 * 1024


def error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def verify(request: web.Request) -> web.Response:
    """Echo `hub.challenge` when the mode is subscribe and the token is ours; 403 otherwise."""
    token = request.app[SETTINGS].whatsapp_verify_token
    mode = request.query.get("hub.mode")
    given = request.query.get("hub.verify_token", "")
    challenge = request.query.get("hub.challenge", "")
    if (
        token is not None
        and mode == "subscribe"
        and hmac.compare_digest(given.encode(), token.get_secret_value().encode())
        and challenge
    ):
        return web.Response(text=challenge)
    return error(403, "verification failed")


def signature_ok(secret: bytes, body: bytes, header: str) -> bool:
    expected = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), header.strip().lower().encode())


async def receive(request: web.Request) -> web.Response:
    """Check the signature on the raw bytes, store everything in one transaction, then 200."""
    settings = request.app[SETTINGS]
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        return error(413, "body too large")
    header = request.headers.get("X-Hub-Signature-256")
    if not header:
        return error(401, "missing X-Hub-Signature-256")
    if settings.whatsapp_app_secret is None:
        log.error("webhook POST refused: WHATSAPP_APP_SECRET is not set")
        return error(403, "signature cannot be checked")
    try:
        body = await request.read()  # the app's client_max_size is MAX_BODY_BYTES
    except web.HTTPRequestEntityTooLarge:
        return error(413, "body too large")
    if not signature_ok(settings.whatsapp_app_secret.get_secret_value().encode(), body, header):
        return error(403, "bad signature")
    try:
        payload = json.loads(body)
        messages, statuses = read_webhook(payload)
    except (ValueError, PayloadError) as exc:
        return error(400, f"bad payload: {exc}"[:200])
    async with request.app[POOL].acquire() as conn:
        new = await store_webhook(conn, messages, statuses)
    for m in messages:
        metrics.INBOUND_RECEIVED.labels(kind=m.kind).inc()
    log.info("webhook: %d messages (%d new), %d statuses", len(messages), new, len(statuses))
    return web.json_response({"ok": True})
