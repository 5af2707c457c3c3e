"""Languages of Khaacho: English and Nepali message templates, gettext catalogs and formats."""

from __future__ import annotations

import re
from typing import Literal

Language = Literal["en", "ne"]
LANGUAGES: tuple[Language, ...] = ("en", "ne")


def language_of(value: str | None, default: Language = "ne") -> Language:
    return "en" if value == "en" else "ne" if value == "ne" else default


_DEVANAGARI = re.compile(r"[\u0900-\u097F]")


# Everyday words of Nepali typed in Latin letters ("chini 1 bora chaiyo", "baki kati cha?").
_ROMAN_NEPALI = frozenset((
    "cha", "chha", "chaiyo", "chahiyo", "chainchha", "kati", "ho", "hola", "haina", "hoina",
    "dai", "didi", "bhai", "hajur", "namaste", "namaskar", "pathaunu", "pathaidinu",
    "pathaunus", "mero", "malai", "hamro", "baki", "kasto", "ke", "kina", "garnu", "bhayo",
    "thiyo", "aaja", "bholi", "ahile", "ra", "ko", "ma", "lai", "bora", "bori", "chini",
    "chamal", "nun", "tel", "pitho", "dal", "masu", "anda", "dudh", "euta", "duita", "dedh",
    "aadha",
))
_WORD = re.compile(r"[a-z]+")


def guess_language(text: str) -> Language:
    """For someone we do not know yet: Devanagari, or everyday Nepali in Latin letters, means
    Nepali; anything else English."""
    if _DEVANAGARI.search(text):
        return "ne"
    return "ne" if _ROMAN_NEPALI.intersection(_WORD.findall(text.lower())) else "en"
