"""Small things people type in commands: order numbers, plain quantities, thanks. (Digits,
rupees and phone numbers are read by `locales.numbers`, shared with the CLI and the web.)"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation

from locales.numbers import ascii_digits

_ORDER = re.compile(r"\b(?:kh)[\s-]?(\d{1,9})\b", re.IGNORECASE)
_DRAFT = re.compile(r"\bD-(\d{1,9})\b", re.IGNORECASE)  # only as staff copy it from a message


def order_number(text: str) -> str | None:
    """"KH-000123", "kh123", "KH 123" → "KH-000123"; a draft's "D-000123" as written."""
    plain = ascii_digits(text)
    match = _ORDER.search(plain)
    if match:
        return f"KH-{int(match.group(1)):06d}"
    draft = _DRAFT.search(plain)
    return f"D-{int(draft.group(1)):06d}" if draft else None


def quantity(text: str) -> Decimal | None:
    """A plain positive number ("2", "२", "1.5")."""
    try:
        value = Decimal(ascii_digits(text.strip()))
    except InvalidOperation:
        return None
    return value if value.is_finite() and 0 < value <= 1_000_000 else None


_THANKS = frozenset((
    "thanks", "thank", "thanku", "thankyou", "thnx", "thx", "ty", "tq", "dhanyabad", "dhanyawad",
    "dhanyabaad", "dhanyavad", "shukriya", "धन्यवाद", "धन्यबाद",
))
# Words that may come with thanks without asking for anything.
_POLITE = frozenset(("you", "ok", "okay", "hajur", "dai", "didi", "sir", "so", "much", "very",
                     "lot", "a", "हजुर", "दाइ"))


def _letters(word: str) -> str:
    """The letters (and Devanagari vowel signs) of a word, without emoji or punctuation."""
    return "".join(ch for ch in word if unicodedata.category(ch)[0] in "LM")


def is_thanks(text: str) -> bool:
    """"thank you", "dhanyabad dai 🙏": nothing to do but be polite."""
    tokens = [w for w in (_letters(t) for t in text.lower().split()) if w]
    return (bool(tokens) and all(t in _THANKS or t in _POLITE for t in tokens)
            and any(t in _THANKS for t in tokens))
