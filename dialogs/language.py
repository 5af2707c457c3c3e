"""Language: anyone switches between Nepali and English at any time; first contact asks once."""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING

from dialogs import buttons
from ledger import users
from locales import Language

if TYPE_CHECKING:
    from dialogs.turn import Turn

# Each language offered in its own name, the same for every reader.
BUTTONS = (buttons.button("lang", "set", "ne", "नेपाली"),
           buttons.button("lang", "set", "en", "English"))

_ENGLISH = re.compile(r"\b(english|eng|angrezi|angreji|angrejima|englishma)\b|अंग्रेजी|अङ्ग्रेजी|इङ्लिस")
_NEPALI = re.compile(r"\b(nepali|nepalima|nep)\b|नेपाली")


def requested(turn: Turn) -> Language | None | bool:
    """The language asked for; True when the user asks about language without naming one;
    None when the message is not about language at all."""
    tap = turn.tap
    if tap is not None and tap.kind == "lang":
        return tap.ref if tap.ref in ("en", "ne") else True  # type: ignore[return-value]
    if turn.choice or turn.intent() != "language":
        return None
    text = turn.text.lower()
    if _ENGLISH.search(text):
        return "en"
    if _NEPALI.search(text):
        return "ne"
    return True


async def handle(turn: Turn) -> bool:
    """Switch language if the message asks to; True when it did (or asked which one)."""
    wanted = requested(turn)
    if wanted is None:
        return False
    turn.conversation.language_asked = True
    if wanted is True:
        turn.say("language_offer", buttons=BUTTONS)
        return True
    assert wanted in ("en", "ne")
    await users.set_language(turn.conn, turn.user.id, wanted)
    turn.user = dataclasses.replace(turn.user, language=wanted)
    turn.say("language_set")
    return True


def offer_once(turn: Turn) -> None:
    """On a person's first contact, offer the other language once — first, so the buttons of the
    dialog's own reply are the last ones shown."""
    if not turn.conversation.language_asked:
        turn.conversation.language_asked = True
        turn.say("language_offer", buttons=BUTTONS)
        turn.replies.insert(0, turn.replies.pop())
