"""Phone numbers: accept what people type, store E.164, never log them whole."""

from __future__ import annotations

import re

_DIGITS = re.compile(r"[\s\-().]")
_NEPAL_MOBILE = re.compile(r"^9[678]\d{8}$")


class PhoneError(ValueError):
    pass


def normalize(raw: str) -> str:
    """`+9779812345678`, `9779812345678` or a local `9812345678` → `+9779812345678`."""
    text = _DIGITS.sub("", raw.strip().translate(str.maketrans("०१२३४५६७८९", "0123456789")))
    if text.startswith("+"):
        digits = text[1:]
    elif text.startswith("00"):
        digits = text[2:]
    elif _NEPAL_MOBILE.match(text):
        digits = "977" + text
    else:
        digits = text
    if not digits.isdigit() or not 8 <= len(digits) <= 15 or digits.startswith("0"):
        raise PhoneError(f"not a phone number: {mask(raw)!r}")
    if digits.startswith("977") and not _NEPAL_MOBILE.match(digits[3:]):
        raise PhoneError(f"not a Nepali mobile number: {mask(raw)!r}")
    return "+" + digits


def wa_id(e164: str) -> str:
    """WhatsApp ids are E.164 without the plus."""
    return e164.lstrip("+")


def mask(value: str | None) -> str:
    """`+9779812345678` → `+97798*****678`: enough to tell people apart in logs, no more."""
    if not value:
        return "-"
    if len(value) <= 6:
        return "*" * len(value)
    return value[:5] + "*" * (len(value) - 8) + value[-3:]
