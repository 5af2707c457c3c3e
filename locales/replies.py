"""What any surface says to a person: a template name and its context, to whom, with the buttons
or list rows they can tap. Chat dialogs, periodic jobs and (later) the web build these; the
outbound service renders each in its recipient's language and queues it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal


@dataclass(frozen=True)
class Button:
    id: str  # kind:action:<public id>, e.g. "order:accept:KH-000123" (see dialogs/buttons.py)
    title: str  # a gettext msgid, translated for the recipient; ≤ 20 characters once rendered


@dataclass(frozen=True)
class Row:
    id: str
    title: str  # ≤ 24 characters
    description: str = ""  # ≤ 72 characters


@dataclass(frozen=True)
class Param:
    """One body parameter of a WhatsApp template, formatted in the recipient's language when the
    reply is rendered: text as it is, money from paisa, a day, a number, or `message`: the
    message template named by `value` rendered with the reply's context, on one line."""

    value: str | int | date | datetime
    kind: Literal["text", "money", "day", "number", "message"] = "text"


@dataclass(frozen=True)
class Template:
    """An approved WhatsApp template a reply names for itself, used outside the 24-hour window
    instead of the one generic template every other reply falls back to."""

    name: str
    params: tuple[Param, ...] = ()


@dataclass(frozen=True)
class Attachment:
    """A document sent with a reply, made for each recipient in their language when it is queued
    (`bot.documents`): `kind` names the renderer, `data` is what it draws (a statement)."""

    kind: str            # "statement"
    data: Any
    format: str = "pdf"  # "pdf" or "csv"


@dataclass(frozen=True)
class Reply:
    template: str  # locales/<lang>/messages/<template>.j2
    context: Mapping[str, Any] = field(default_factory=dict)
    to_user_id: int | None = None  # None: whoever sent the message being answered
    buttons: tuple[Button, ...] = ()
    rows: tuple[Row, ...] = ()
    list_button: str = "Choose"  # gettext msgid of the button that opens a list
    # Outside the 24-hour window: this template instead of the generic one (bot/outgoing.py).
    whatsapp_template: Template | None = None
    # The recipient has not written for a day: send `whatsapp_template` at once, not the text.
    window_closed: bool = False
    # Sent as a WhatsApp document; the rendered template is its caption (≤ 1024 characters).
    attachment: Attachment | None = None

    def __post_init__(self) -> None:
        if self.window_closed and self.whatsapp_template is None:
            raise ValueError(f"{self.template}: a closed window needs a template to send")
