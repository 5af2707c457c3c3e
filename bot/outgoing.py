"""Turns a dialog's reply into a Graph API message body, within WhatsApp's limits."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from bot.store import payload_text
from locales import Language, formats
from locales.render import Messages
from locales.replies import Param, Reply, Template

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


def _flat(text: str) -> str:
    """Template parameters may not hold new lines, tabs or long runs of spaces."""
    flat = re.sub(r"\s*\n\s*", " · ", text.strip())
    return _cut(re.sub(r"[\t ]{2,}", " ", flat), MAX_TEMPLATE_PARAM)


def _template(name: str, template_lang: str, texts: list[str]) -> dict[str, Any]:
    template: dict[str, Any] = {"name": name, "language": {"code": template_lang}}
    if texts:
        template["components"] = [{"type": "body", "parameters": [
            {"type": "text", "text": text} for text in texts]}]
    return {"type": "template", "template": template}


def document(text_payload: dict[str, Any], filename: str) -> dict[str, Any]:
    """A document message whose caption is the reply's words; the sender adds the media id it
    gets by uploading the file (`bot.sender.with_media`)."""
    caption = payload_text(text_payload)
    return {"type": "document",
            "document": {"filename": filename, "caption": _cut(caption, MAX_CAPTION)}}


def template_fallback(
    payload: dict[str, Any], template_name: str, template_lang: str
) -> dict[str, Any]:
    """The same words as one parameter of an approved template, for outside the 24-hour window."""
    return _template(template_name, template_lang, [_flat(payload_text(payload))])


def named_template(
    messages: Messages, lang: Language, reply: Reply, template: Template, template_lang: str
) -> dict[str, Any]:
    """The template a reply names for itself, its parameters formatted in `lang`."""
    return _template(template.name, template_lang,
                     [_flat(_param(messages, lang, reply, p)) or "-" for p in template.params])


def _param(messages: Messages, lang: Language, reply: Reply, param: Param) -> str:
    value = param.value
    if param.kind == "money" and isinstance(value, int):
        return formats.money(value, lang)
    if param.kind == "number" and isinstance(value, int):
        return formats.number(value, lang)
    if param.kind == "day" and isinstance(value, date):
        return formats.day(value, lang)
    if param.kind == "message" and isinstance(value, str):
        return messages.render(lang, value, **reply.context)
    if param.kind == "text":
        return str(value)
    raise TypeError(f"{reply.template}: a {param.kind} parameter cannot be {value!r}")
