"""Languages of Khaacho: English and Nepali message templates, gettext catalogs and formats."""

from __future__ import annotations

from typing import Literal

Language = Literal["en", "ne"]
LANGUAGES: tuple[Language, ...] = ("en", "ne")


def language_of(value: str | None, default: Language = "ne") -> Language:
    return "en" if value == "en" else "ne" if value == "ne" else default
