"""Turns a dialog's reply into a Graph API message body, within WhatsApp's limits."""

from __future__ import annotations

import re
from typing import Any

from bot.store import payload_text
from locales import Language
from locales.render import Messages
from locales.replies import Reply

MAX_BODY = 4096
MAX_INTERACTIVE_BODY = 1024
MAX_BUTTONS, MAX_BUTTON_TITLE = 3, 20
MAX_ROWS, MAX_ROW_TITLE, MAX_ROW_DESCRIPTION = 10, 24, 72
MAX_TEMPLATE_PARAM = 1000
MAX_CAPTION = 1024


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def build(messages: Messages, lang: Language, reply: Reply) -> dict[str, Any]:
    text = messages.render(lang, reply.template, **reply.context)
    if reply.buttons:
        if len(reply.buttons) > MAX_BUTTONS:
            raise ValueError(f"{reply.template}: at most {MAX_BUTTONS} reply buttons")
        return {
            "type": "interactive",
            "interactive": {
                "type": "button",
                "body": {"text": _cut(text, MAX_INTERACTIVE_BODY)},
                "action": {"buttons": [
                    {"type": "reply", "reply": {
                        "id": b.id,
                        "title": _cut(messages.gettext(lang, b.title), MAX_BUTTON_TITLE),
                    }}
                    for b in reply.buttons
                ]},
            },
        }
    if reply.rows:
        if len(reply.rows) > MAX_ROWS:
            raise ValueError(f"{reply.template}: at most {MAX_ROWS} list rows")
        rows = [
            {"id": r.id, "title": _cut(r.title, MAX_ROW_TITLE),
             **({"description": _cut(r.description, MAX_ROW_DESCRIPTION)} if r.description else {})}
            for r in reply.rows
        ]
        return {
            "type": "interactive",
            "interactive": {
                "type": "list",
                "body": {"text": _cut(text, MAX_INTERACTIVE_BODY)},
                "action": {
                    "button": _cut(messages.gettext(lang, reply.list_button), MAX_BUTTON_TITLE),
                    "sections": [{"title": _cut(messages.gettext(lang, "Choose"), 24),
                                  "rows": rows}],
                },
            },
        }
    return {"type": "text", "text": {"body": _cut(text, MAX_BODY), "preview_url": False}}


def document(text_payload: dict[str, Any], filename: str) -> dict[str, Any]:
    """A document message whose caption is the reply's words; the sender adds the media id it
    gets by uploading the file (`bot.sender.with_media`)."""
    caption = payload_text(text_payload)
    return {"type": "document",
            "document": {"filename": filename, "caption": _cut(caption, MAX_CAPTION)}}


def template_fallback(
    payload: dict[str, Any], template_name: str, template_lang: str
) -> dict[str, Any]:
    """The same words as one parameter of an approved template, for outside the 24-hour window.

    Template parameters may not hold new lines, tabs or long runs of spaces.
    """
    flat = re.sub(r"\s*\n\s*", " · ", payload_text(payload))
    flat = re.sub(r"[\t ]{2,}", " ", flat)
    return {
        "type": "template",
        "template": {
            "name": template_name,
            "language": {"code": template_lang},
            "components": [{"type": "body", "parameters": [
                {"type": "text", "text": _cut(flat, MAX_TEMPLATE_PARAM)},
            ]}],
        },
    }
