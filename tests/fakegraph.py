"""A fake Graph API on 127.0.0.1 speaking Meta's send protocol, recording what was sent: text,
interactive and template messages, media uploads (POST /{phone-number-id}/media, multipart with
`file`, `type` and `messaging_product`) and document messages naming an uploaded media id.

Tests tell it to fail the next N sends with a given HTTP status and one of Meta's error bodies, or
to misbehave the way a network does after accepting a message: answer after the client gave up
(`answer_late_next`), or drop the connection (`drop_after_accept_next`); `hang_next` never
accepts and never answers (a true loss). `fail_randomly` does a mix of all that for a share of
sends. Like Meta, it can POST signed status webhooks (`sent`, echoing the message's
`biz_opaque_callback_data`) to the app, retrying until the app answers 200 (`emit_statuses`).

`sent` holds every message it accepted; `duplicates()` counts the messages accepted more than once
for the same outbox reference (what a user would see twice).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import itertools
import json
import random
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

FIXTURES = Path(__file__).parent / "data" / "whatsapp"
TOKEN = "test-access-token"
PHONE_NUMBER_ID = "106540352242922"
_STATUS_TRIES = 300  # Meta retries a webhook for days; a test needs a bound


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text("utf-8"))


@dataclass(frozen=True)
class Fault:
    """What to do with one send: 'late' (accept, answer after `seconds`), 'drop' (accept, close
    the connection), 'hang' (accept nothing, answer after `seconds`), 'error' (HTTP 500)."""

    kind: str
    seconds: float = 0.0


@dataclass(frozen=True)
class Media:
    content: bytes
    mime_type: str
    filename: str


@dataclass
class FakeGraph:
    sent: list[dict[str, Any]] = field(default_factory=list)
    media: dict[str, Media] = field(default_factory=dict)
    upload_failures: deque[tuple[int, Any]] = field(default_factory=deque)
    failures: deque[tuple[int, Any]] = field(default_factory=deque)
    requests: int = 0
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    faults: deque[Fault] = field(default_factory=deque)
    answer_delay: float = 0.0  # every accepted send answers this much later
    slow_for: dict[str, float] = field(default_factory=dict)  # recipient -> its sends' delay
    unanswered: int = 0  # sends accepted whose answer has not been written yet
    statuses_delivered: int = 0
    _random: tuple[random.Random, float, float, float, float] | None = None
    _wamids: deque[str] = field(default_factory=deque)
    _webhook: tuple[str, bytes, float] | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _session: aiohttp.ClientSession | None = None

    def fail_next(self, times: int, status: int, body: Any) -> None:
        for _ in range(times):
            self.failures.append((status, body))

    def answer_late_next(self, times: int, seconds: float) -> None:
        """Accept the next sends, then answer only after `seconds` (past the client's timeout)."""
        self.faults.extend(Fault("late", seconds) for _ in range(times))

    def drop_after_accept_next(self, times: int) -> None:
        """Accept the next sends, then close the connection without answering."""
        self.faults.extend(Fault("drop") for _ in range(times))

    def hang_next(self, times: int, seconds: float) -> None:
        """Neither accept nor answer the next sends for `seconds`: the message is truly lost."""
        self.faults.extend(Fault("hang", seconds) for _ in range(times))

    def reuse_wamid_next(self, wamid: str, times: int = 1) -> None:
        """Answer the next accepted sends with this message id (as if Meta repeated one)."""
        self._wamids.extend(wamid for _ in range(times))

    def fail_randomly(self, *, error: float, late: float, drop: float, late_seconds: float,
                      seed: int = 1) -> None:
        """For each send, by chance: HTTP 500, a late answer, or a dropped connection."""
        self._random = (random.Random(seed), error, late, drop, late_seconds)

    def emit_statuses(self, webhook_url: str, app_secret: str, delay: float = 0.0) -> None:
        """POST a signed `sent` status for every accepted message to the app, `delay` later."""
        self._webhook = (webhook_url, app_secret.encode(), delay)

    def fail_next_upload(self, times: int, status: int, body: Any) -> None:
        for _ in range(times):
            self.upload_failures.append((status, body))

    def texts_to(self, recipient: str) -> list[str]:
        return [body_text(m) for m in self.sent if m.get("to", m.get("recipient")) == recipient]

    def references(self) -> Counter[str]:
        """How many times each outbox reference (biz_opaque_callback_data) was accepted."""
        return Counter(m["biz_opaque_callback_data"] for m in self.sent
                       if "biz_opaque_callback_data" in m)

    def duplicates(self) -> int:
        """Messages accepted more than once for the same outbox reference."""
        return sum(n - 1 for n in self.references().values() if n > 1)

    def _fault(self) -> Fault | None:
        if self.faults:
            return self.faults.popleft()
        if self._random is None:
            return None
        chance, error, late, drop, late_seconds = self._random
        roll = chance.random()
        if roll < error:
            return Fault("error")
        if roll < error + late:
            return Fault("late", late_seconds)
        if roll < error + late + drop:
            return Fault("drop")
        return None

    async def messages(self, request: web.Request) -> web.StreamResponse:
        self.requests += 1
        if request.match_info["phone_id"] != PHONE_NUMBER_ID:
            return web.json_response({"error": {"code": 100, "message": "Unknown phone id",
                                                "type": "GraphMethodException"}}, status=400)
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return web.json_response(fixture("graph_error_190_token"), status=401)
        if self.failures:
            status, body = self.failures.popleft()
            return web.json_response(body, status=status)
        message = await request.json()
        if message.get("messaging_product") != "whatsapp" or "type" not in message:
            return web.json_response({"error": {"code": 100, "message": "Invalid parameter",
                                                "type": "OAuthException"}}, status=400)
        if message["type"] == "document" and message.get("document", {}).get("id") not in (
                self.media):
            return web.json_response({"error": {"code": 131053, "message": "Media upload "
                                                "error: unknown media id",
                                                "type": "OAuthException"}}, status=400)
        fault = self._fault()
        if fault is not None and fault.kind == "error":
            return web.json_response({"error": {"code": 1, "message": "An unknown error occurred",
                                                "type": "OAuthException"}}, status=500)
        if fault is not None and fault.kind == "hang":
            await asyncio.sleep(fault.seconds)
            return web.json_response({"error": {"code": 2, "message": "Service unavailable"}},
                                     status=503)
        self.sent.append(message)
        wamid = self._wamids.popleft() if self._wamids else f"wamid.FAKE{next(self._ids)}"
        self._emit_status(message, wamid)
        answer = fixture("graph_send_ok")
        answer["messages"][0]["id"] = wamid
        self.unanswered += 1
        try:
            if fault is not None and fault.kind == "drop":
                assert request.transport is not None
                request.transport.close()
                return web.Response()  # never written: the connection is gone
            delay = fault.seconds if fault is not None else self.slow_for.get(
                message.get("to", ""), self.answer_delay)
            if delay:
                await asyncio.sleep(delay)
            return web.json_response(answer)
        finally:
            self.unanswered -= 1

    def _emit_status(self, message: dict[str, Any], wamid: str) -> None:
        if self._webhook is None:
            return
        recipient = message.get("to", message.get("recipient"))
        status: dict[str, Any] = {
            "id": wamid, "status": "sent", "timestamp": str(int(time.time())),
            ("recipient_id" if "to" in message else "recipient_user_id"): recipient,
            "conversation": {"id": "CONVERSATION_ID", "origin": {"type": "service"}},
            "pricing": {"billable": False, "pricing_model": "PMP", "category": "service"},
        }
        if "biz_opaque_callback_data" in message:
            status["biz_opaque_callback_data"] = message["biz_opaque_callback_data"]
        body = json.dumps({"object": "whatsapp_business_account", "entry": [{
            "id": "102290129340398", "changes": [{"field": "messages", "value": {
                "messaging_product": "whatsapp",
                "metadata": {"display_phone_number": "9779801234567",
                             "phone_number_id": PHONE_NUMBER_ID},
                "statuses": [status]}}]}]}).encode()
        task = asyncio.get_running_loop().create_task(self._deliver(body))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, body: bytes) -> None:
        assert self._webhook is not None
        url, secret, delay = self._webhook
        signature = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
        if delay:
            await asyncio.sleep(delay)
        if self._session is None:
            self._session = aiohttp.ClientSession()
        for attempt in range(_STATUS_TRIES):
            with contextlib.suppress(aiohttp.ClientError, OSError, TimeoutError):
                async with self._session.post(
                    url, data=body, timeout=aiohttp.ClientTimeout(total=10),
                    headers={"X-Hub-Signature-256": signature,
                             "Content-Type": "application/json"},
                ) as response:
                    if response.status == 200:
                        self.statuses_delivered += 1
                        return
            await asyncio.sleep(min(0.05 * 2 ** attempt, 0.5))

    async def close(self) -> None:
        """Stop delivering statuses (pending ones are abandoned) and close the HTTP session."""
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _on_cleanup(self, _: web.Application) -> None:
        await self.close()

    async def upload(self, request: web.Request) -> web.Response:
        """Media upload: multipart form with the file, its MIME type and messaging_product."""
        self.requests += 1
        if request.match_info["phone_id"] != PHONE_NUMBER_ID:
            return web.json_response({"error": {"code": 100, "message": "Unknown phone id",
                                                "type": "GraphMethodException"}}, status=400)
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return web.json_response(fixture("graph_error_190_token"), status=401)
        if self.upload_failures:
            status, body = self.upload_failures.popleft()
            return web.json_response(body, status=status)
        form = await request.post()
        upload = form.get("file")
        if (form.get("messaging_product") != "whatsapp" or not isinstance(upload, web.FileField)
                or form.get("type") != upload.content_type):
            return web.json_response({"error": {"code": 100, "message": "Invalid parameter",
                                                "type": "OAuthException"}}, status=400)
        media_id = str(4_490_709_327_384_000 + next(self._ids))
        self.media[media_id] = Media(upload.file.read(), upload.content_type, upload.filename)
        return web.json_response({"id": media_id})

    def documents_to(self, recipient: str) -> list[tuple[dict[str, Any], Media]]:
        """Document messages sent to `recipient`, each with the file it named."""
        return [(m["document"], self.media[m["document"]["id"]]) for m in self.sent
                if m["type"] == "document" and m.get("to", m.get("recipient")) == recipient]

    def app(self) -> web.Application:
        app = web.Application(client_max_size=32 * 1024 * 1024)
        app.router.add_post("/{version}/{phone_id}/messages", self.messages)
        app.on_cleanup.append(self._on_cleanup)
        app.router.add_post("/{version}/{phone_id}/media", self.upload)
        return app


def body_text(message: dict[str, Any]) -> str:
    kind = message["type"]
    if kind == "text":
        return str(message["text"]["body"])
    if kind == "interactive":
        return str(message["interactive"]["body"]["text"])
    if kind == "template":
        return str(message["template"]["components"][0]["parameters"][0]["text"])
    if kind == "document":
        return str(message["document"].get("caption", ""))
    return json.dumps(message)
