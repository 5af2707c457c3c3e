"""One turn of a conversation: the event, who sent it, their conversation, the replies so far."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from catalog.model import ParseResult
from catalog.parser import OrderParser
from dialogs import buttons
from dialogs.buttons import Tap
from dialogs.io import Event, Policy
from dialogs.machine import Table
from ledger.conversations import Conversation
from ledger.errors import AlreadyDone, LedgerError, NotPermitted
from ledger.users import User
from locales.replies import Attachment, Button, Reply, Row


@dataclass
class Turn:
    conn: asyncpg.Connection
    event: Event
    user: User
    conversation: Conversation
    table: Table
    parser: OrderParser
    policy: Policy = field(default_factory=Policy)
    replies: list[Reply] = field(default_factory=list)
    # Loaded by a dialog's `look_up` before routing (a registration's status, say).
    facts: dict[str, Any] = field(default_factory=dict)
    # A retailer's remembered choices ("chamal" is Mansuli to them), read by `look_up`.
    remembered: dict[str, str] = field(default_factory=dict)
    _parsed: ParseResult | None = None

    @property
    def text(self) -> str:
        return self.event.text.strip()

    @property
    def choice(self) -> str:
        """The id of a tapped button or list row, or ""."""
        return self.event.choice_id or ""

    @property
    def tap(self) -> Tap | None:
        """What a tapped button or row stands for (None for typed text and foreign ids)."""
        return buttons.parse(self.choice) if self.choice else None

    @property
    def data(self) -> dict[str, Any]:
        return self.conversation.data

    @property
    def state(self) -> str:
        return self.conversation.state

    def parsed(self) -> ParseResult:
        """What the text means, with the sender's remembered choices; parsed once per turn."""
        if self._parsed is None:
            self._parsed = self.parser.parse(self.text, self.remembered or None)
        return self._parsed

    def parse(self, text: str) -> ParseResult:
        """What another text means to this sender (a part of the message, say)."""
        return self.parser.parse(text, self.remembered or None)

    def intent(self) -> str:
        return "" if self.choice else self.parsed().intent

    def wants_help(self) -> bool:
        tap = self.tap
        return (tap is not None and tap.action == "help") or self.intent() == "help"

    def wants_cancel(self) -> bool:
        tap = self.tap
        return (tap is not None and tap.action == "cancel") or self.intent() == "cancel"

    def say(self, template: str, *, buttons: Sequence[Button] = (), rows: Sequence[Row] = (),
            list_button: str = "Choose", attachment: Attachment | None = None,
            **context: Any) -> None:
        """Reply to the sender, in their current language (read again when rendering, so a
        language switch in this very turn is honoured); with an attachment, the words caption
        a document drawn in that language."""
        self.replies.append(Reply(template, context, to_user_id=self.user.id,
                                  buttons=tuple(buttons), rows=tuple(rows),
                                  list_button=list_button, attachment=attachment))

    def tell(self, user_id: int, template: str, *, buttons: Sequence[Button] = (),
             **context: Any) -> None:
        """A message to someone else (a vendor, the retailer, operators)."""
        self.replies.append(Reply(template, context, to_user_id=user_id, buttons=tuple(buttons)))

    def refuse(self, error: LedgerError, **params: Any) -> None:
        """Explain why the ledger said no, in the sender's language."""
        if isinstance(error, NotPermitted):
            self.say("not_allowed", action=params.get("action") or error.params.get("action"))
        elif isinstance(error, AlreadyDone):
            self.say("already_done", **{**error.params, **params})
        else:
            named = {**error.params, **params}
            product = self.parser.products.get(str(named.get("sku", "")))
            if product is not None:  # the product as people call it, not its code
                named["sku"] = product.name_ne if self.user.language == "ne" else product.name_en
            self.say("error", key=error.key, params=named)

    def move(self, trigger: str) -> None:
        self.table.fire(self.conversation, trigger)
