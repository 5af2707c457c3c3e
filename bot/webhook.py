"""Meta's webhook contract: the GET verify handshake and signed POSTs of messages and statuses."""

from __future__ import annotations

import hashlib
import hmac
import logging

from aiohttp import web

from bot import metrics
from bot.appkeys import SETTINGS, STORE_QUEUE
from bot.security import BodyTimeout, body_timeout, read_body
from bot.whatsapp import read_body as read_webhook_body

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
    """Check the signature on the raw bytes, store everything in one transaction (with the
    bodies that came at the same time: bot.store_queue), then 200.

    Every signed body is acknowledged, readable or not: the items that can be read are stored
    and handled, whatever cannot (down to the whole body when it is not JSON) is quarantined
    raw. Answering an error would only make Meta send the same bytes again for days.
    """
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
        # The app's client_max_size is MAX_BODY_BYTES; a body trickling in is cut off.
        body = await read_body(request, settings.http_body_timeout_seconds)
    except web.HTTPRequestEntityTooLarge:
        return error(413, "body too large")
    except BodyTimeout:
        return body_timeout()
    if not signature_ok(settings.whatsapp_app_secret.get_secret_value().encode(), body, header):
        return error(403, "bad signature")
    reading = read_webhook_body(body)
    stored = await request.app[STORE_QUEUE].store(
        reading.messages, reading.statuses, reading.quarantined)
    for m in reading.messages:
        metrics.INBOUND_RECEIVED.labels(kind=m.kind).inc()
    for q in reading.quarantined:
        metrics.WEBHOOK_QUARANTINED.labels(kind=q.kind).inc()
        # The reason only: the raw item may hold a message body or a phone number.
        log.warning("webhook: %s quarantined: %s", q.kind, q.reason)
    log.info("webhook: %d messages (%d new), %d statuses, %d quarantined (%d new)",
             len(reading.messages), stored.new, len(reading.statuses),
             len(reading.quarantined), stored.quarantined)
    return web.json_response({"ok": True})
