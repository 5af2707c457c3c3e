"""A fake Graph API on 127.0.0.1 speaking Meta's send protocol, recording what was sent: text,
interactive and template messages, media uploads (POST /{phone-number-id}/media, multipart with
`file`, `type` and `messaging_product`) and document messages naming an uploaded media id.

Tests tell it to fail the next N sends with a given HTTP status and one of Meta's error bodies.
"""

from __future__ import annotations

import itertools
import json
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

FIXTURES = Path(__file__).parent / "data" / "whatsapp"
TOKEN = "test-access-token"
PHONE_NUMBER_ID = "106540352242922"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text("utf-8"))


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

    def fail_next(self, times: int, status: int, body: Any) -> None:
        for _ in range(times):
            self.failures.append((status, body))

    def fail_next_upload(self, times: int, status: int, body: Any) -> None:
        for _ in range(times):
            self.upload_failures.append((status, body))

    def texts_to(self, recipient: str) -> list[str]:
        return [body_text(m) for m in self.sent if m.get("to", m.get("recipient")) == recipient]

    async def messages(self, request: web.Request) -> web.Response:
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
        self.sent.append(message)
        answer = fixture("graph_send_ok")
        answer["messages"][0]["id"] = f"wamid.FAKE{next(self._ids)}"
        return web.json_response(answer)

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
