"""Languages of Khaacho: English and Nepali message templates, gettext catalogs and formats."""

from __future__ import annotations

import re
from typing import Literal

Language = Literal["en", "ne"]
LANGUAGES: tuple[Language, ...] = ("en", "ne")


def language_of(value: str | None, default: Language = "ne") -> Language:
    return "en" if value == "en" else "ne" if value == "ne" else default


_DEVANAGARI = re.compile(r"[\u0900-\u097F]")


def guess_language(text: str) -> Language:
    """For someone we do not know yet: Devanagari script means Nepali, anything else English."""
    return "ne" if _DEVANAGARI.search(text) else "en"
