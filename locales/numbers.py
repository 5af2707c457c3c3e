"""Numbers as people in Nepal type them: Devanagari digits, rupee amounts and phone numbers.

The one place these are read; chat, the command line, the catalog and the ledger all call it.
Phones are stored as E.164 and never logged whole (`mask`). Nepal's rules are our own (a local
98XXXXXXXX is a Nepali mobile; a +977 number must be one); numbers abroad are checked against
libphonenumber's tables (the `phonenumberslite` package: the same library without its geocoding
and carrier data, which we do not use).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

import phonenumbers

_DEVANAGARI_DIGITS = str.maketrans("०१२३४५६७८९", "0123456789")

# No single payment, limit or price in this business is a crore of rupees: a bigger amount typed
# in chat is a typo. Callers with other needs pass their own bound (the command line does).
MAX_RUPEES = 10_000_000
_AMOUNT = re.compile(
    r"^(?:rs\.?|npr|रु\.?|रू\.?)?\s*(\d{1,3}(?:,\d{2,3})+|\d{1,12})(?:\.(\d{1,2}))?$", re.IGNORECASE)
# "Rs 5,000" is one amount in two words.
_CURRENCY = re.compile(r"^(?:rs\.?|npr|रु\.?|रू\.?)$", re.IGNORECASE)

_PHONE_SEPARATORS = re.compile(r"[\s\-().]")
_NEPAL_MOBILE = re.compile(r"9[678][0-9]{8}")   # used with fullmatch
_E164_DIGITS = re.compile(r"[1-9][0-9]{7,14}")
# A phone as people copy it ("+977 982-0000003") spans a few words.
MAX_PHONE_WORDS = 4


class PhoneError(ValueError):
    """Not a phone number we can store; the message shows the input masked."""


def ascii_digits(text: str) -> str:
    """"१२३" → "123"; every other character is kept as it is."""
    return text.translate(_DEVANAGARI_DIGITS)


def paisa(text: str, *, max_rupees: int = MAX_RUPEES) -> int | None:
    """Rupees as typed ("5000", "5,000", "रु ५०००", "1250.50") in integer paisa; None if not one
    or more than `max_rupees`."""
    match = _AMOUNT.match(ascii_digits(text.strip()))
    if match is None:
        return None
    try:
        rupees = Decimal(match.group(1).replace(",", ""))
    except InvalidOperation:
        return None
    cents = int((match.group(2) or "0").ljust(2, "0"))
    if rupees > max_rupees:
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


def normalize_phone(raw: str) -> str:
    """`+9779812345678`, `9779812345678`, `00977 981-234-5678` or a local `9812345678` →
    `+9779812345678`; a number abroad must be a valid one there. Raises PhoneError."""
    text = _PHONE_SEPARATORS.sub("", ascii_digits(raw.strip()))
    if text.startswith("+"):
        digits = text[1:]
    elif text.startswith("00"):
        digits = text[2:]
    elif _NEPAL_MOBILE.fullmatch(text):
        digits = "977" + text
    else:
        digits = text
    # ASCII only: str.isdigit() would also let other scripts' digits into an E.164 column.
    if not _E164_DIGITS.fullmatch(digits):
        raise PhoneError(f"not a phone number: {mask(raw)!r}")
    if digits.startswith("977"):
        if not _NEPAL_MOBILE.fullmatch(digits[3:]):
            raise PhoneError(f"not a Nepali mobile number: {mask(raw)!r}")
    elif not _valid_abroad("+" + digits):
        raise PhoneError(f"not a phone number: {mask(raw)!r}")
    return "+" + digits


def _valid_abroad(e164: str) -> bool:
    try:
        number = phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:
        return False
    return bool(phonenumbers.is_valid_number(number))


def phone(text: str) -> str | None:
    """E.164 from what people type ("9820000003", "+977 982-0000003"); None if not a phone."""
    try:
        return normalize_phone(text)
    except PhoneError:
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


def wa_id(e164: str) -> str:
    """WhatsApp ids are E.164 without the plus."""
    return e164.lstrip("+")


def mask(value: str | None) -> str:
    """`+9779812345678` → `+9779******678`: enough to tell people apart in logs, no more."""
    if not value:
        return "-"
    # Keeping 5 + 3 characters of 8 or fewer would show all of them.
    if len(value) <= 8:
        return "*" * len(value)
    return value[:5] + "*" * (len(value) - 8) + value[-3:]
