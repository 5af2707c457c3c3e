"""One turn of a conversation: the event, who sent it, their conversation, the replies so far."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from catalog.model import ParseResult
from catalog.parser import OrderParser
from dialogs.io import Button, Event, Reply, Row
from dialogs.machine import Table
from dialogs.state import Conversation
from ledger.users import User

# Tapped buttons and list rows carry ids like "order:confirm:12"; a cancel button ends in ":cancel"
# or is "<dialog>:cancel".
_CANCEL_ID = re.compile(r"^[a-z]+(:[a-z]+)*:cancel(:.*)?$")


@dataclass
class Turn:
    conn: asyncpg.Connection
    event: Event
    user: User
    conversation: Conversation
    table: Table
    parser: OrderParser
    replies: list[Reply] = field(default_factory=list)
    _parsed: ParseResult | None = None

    @property
    def text(self) -> str:
        return self.event.text.strip()

    @property
    def choice(self) -> str:
        """The id of a tapped button or list row, or ""."""
        return self.event.choice_id or ""

    @property
    def data(self) -> dict[str, Any]:
        return self.conversation.data

    @property
    def state(self) -> str:
        return self.conversation.state

    def parsed(self, remembered: dict[str, str] | None = None) -> ParseResult:
        """What the text means (parsed once per turn unless `remembered` choices are given)."""
        if remembered is not None:
            return self.parser.parse(self.text, remembered)
        if self._parsed is None:
            self._parsed = self.parser.parse(self.text)
        return self._parsed

    def intent(self) -> str:
        return "" if self.choice else self.parsed().intent

    def wants_help(self) -> bool:
        return self.choice.endswith(":help") or self.intent() == "help"

    def wants_cancel(self) -> bool:
        return bool(_CANCEL_ID.match(self.choice)) or self.intent() == "cancel"

    def say(self, template: str, *, buttons: Sequence[Button] = (), rows: Sequence[Row] = (),
            list_button: str = "Choose", **context: Any) -> None:
        """Reply to the sender, in their current language (read again when rendering, so a
        language switch in this very turn is honoured)."""
        self.replies.append(Reply(template, context, to_user_id=self.user.id,
                                  buttons=tuple(buttons), rows=tuple(rows),
                                  list_button=list_button))

    def tell(self, user_id: int, template: str, *, buttons: Sequence[Button] = (),
             **context: Any) -> None:
        """A message to someone else (a vendor, the retailer, operators)."""
        self.replies.append(Reply(template, context, to_user_id=user_id, buttons=tuple(buttons)))

    def move(self, trigger: str) -> None:
        self.table.fire(self.conversation, trigger)
