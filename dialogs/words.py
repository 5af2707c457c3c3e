"""Small things people type in commands: amounts in rupees, order numbers, phone numbers."""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation

from bot import phone as phones

_DEVANAGARI_DIGITS = str.maketrans("०१२३४५६७८९", "0123456789")
_ORDER = re.compile(r"\b(?:kh)[\s-]?(\d{1,9})\b", re.IGNORECASE)
_AMOUNT = re.compile(
    r"^(?:rs\.?|npr|रु\.?|रू\.?)?\s*(\d{1,3}(?:,\d{2,3})+|\d{1,12})(?:\.(\d{1,2}))?$", re.IGNORECASE)
# "Rs 5,000" is one amount in two words.
_CURRENCY = re.compile(r"^(?:rs\.?|npr|रु\.?|रू\.?)$", re.IGNORECASE)
# A phone as people copy it ("+977 982-0000003") spans a few words.
MAX_PHONE_WORDS = 4
# No single payment, limit or price in this business is a crore of rupees.
MAX_RUPEES = 10_000_000


def ascii_digits(text: str) -> str:
    return text.translate(_DEVANAGARI_DIGITS)


def order_number(text: str) -> str | None:
    """"KH-000123", "kh123", "KH 123" → "KH-000123"."""
    match = _ORDER.search(ascii_digits(text))
    return f"KH-{int(match.group(1)):06d}" if match else None


def paisa(text: str) -> int | None:
    """Rupees as typed ("5000", "5,000", "रु ५०००", "1250.50") in integer paisa; None if not one."""
    match = _AMOUNT.match(ascii_digits(text.strip()))
    if match is None:
        return None
    try:
        rupees = Decimal(match.group(1).replace(",", ""))
    except InvalidOperation:
        return None
    cents = int((match.group(2) or "0").ljust(2, "0"))
    if rupees > MAX_RUPEES:
        return None
    return int(rupees) * 100 + cents


def split_amount(text: str) -> tuple[int | None, str]:
    """The amount a text starts with ("Rs 5,000 reason" → 500000, "reason"), and the rest."""
    tokens = text.split()
    if len(tokens) > 1 and _CURRENCY.match(tokens[0]):
        tokens = [tokens[0] + tokens[1], *tokens[2:]]
    if not tokens:
        return None, ""
    return paisa(tokens[0]), " ".join(tokens[1:])


def quantity(text: str) -> Decimal | None:
    """A plain positive number ("2", "२", "1.5")."""
    try:
        value = Decimal(ascii_digits(text.strip()))
    except InvalidOperation:
        return None
    return value if value.is_finite() and 0 < value <= 1_000_000 else None


def phone(text: str) -> str | None:
    """E.164 from what people type ("9820000003", "+977 982-0000003"); None if not a phone."""
    try:
        return phones.normalize(text)
    except phones.PhoneError:
        return None


def leading_phone(text: str) -> tuple[str | None, str]:
    """The phone a command starts with, however it is spaced ("+977 982-0000003 5000"), in
    E.164, and the rest; the fewest words that make a phone, so an amount never joins it."""
    tokens = text.split()
    for count in range(1, min(len(tokens), MAX_PHONE_WORDS) + 1):
        found = phone(" ".join(tokens[:count]))
        if found is not None:
            return found, " ".join(tokens[count:])
    return None, " ".join(tokens)


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
