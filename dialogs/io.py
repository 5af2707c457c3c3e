"""What a dialog takes and gives: one inbound event in, replies (template + context) out.

Dialogs never do network I/O; the bot layer renders replies in the recipient's language,
writes them to the outbox in the same transaction, and sends them afterwards.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ledger.users import User


@dataclass(frozen=True)
class Event:
    inbound_id: int
    address: str  # where a reply to the sender goes
    wa_id: str | None
    wa_user_id: str | None
    profile_name: str | None
    user: User | None
    text: str
    choice_id: str | None  # id of a tapped reply button or list row
    supported: bool  # False for images, audio, locations…
    received_at: datetime


@dataclass(frozen=True)
class Button:
    id: str  # prefixed, e.g. "order:confirm:KH-000123"
    title: str  # a gettext msgid, translated for the recipient; ≤ 20 characters once rendered


@dataclass(frozen=True)
class Row:
    id: str
    title: str  # ≤ 24 characters
    description: str = ""  # ≤ 72 characters


@dataclass(frozen=True)
class Reply:
    template: str  # locales/<lang>/messages/<template>.j2
    context: Mapping[str, Any] = field(default_factory=dict)
    to_user_id: int | None = None  # None: whoever sent the event
    buttons: tuple[Button, ...] = ()
    rows: tuple[Row, ...] = ()
    list_button: str = "Choose"  # gettext msgid of the button that opens a list
