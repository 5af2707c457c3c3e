"""Reading what a retailer typed while ordering: which kind of edit a message asks for, and which
product an answer to "which one?" picks. Plain functions over text and parse results."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Literal

from catalog.model import ParsedItem, ParseResult
from dialogs import words
from locales import numbers

EditMode = Literal["add", "set", "remove"]

REMOVE = re.compile(
    r"\b(hatau|hatau?nu|hatai(?:deu|dinu|dinus|dinuhos)?|hataunus|hatayera|remove|delete|"
    r"nikal|nikala|nikalnu|jhika|jhikau|jhiknu|minus|nachaine|chaidaina|chahidaina)\b|"
    r"हटाउ\S*|झिक\S*|निकाल\S*|चाहिँदैन|चाहिदैन", re.IGNORECASE)
_ADD = re.compile(r"\b(thap|thapnu|thapideu|thapdinu|thapdinus|thapidinu|add|plus|extra|aru)\b"
                  r"|थप\S*|अरु", re.IGNORECASE)
EDIT_ONLY = re.compile(r"^\s*(edit|change|badal\w*|बदल\S*)\s*[.!?]*\s*$", re.IGNORECASE)
CANCEL_ORDER = re.compile(r"\b(cancel|radda|rad)\b|रद्द", re.IGNORECASE)


def edit_mode(text: str) -> tuple[EditMode, str]:
    """"chini 1 bora thap" adds, "nun hatau" removes, "chini 2 bora" sets; with the text left
    once the edit word is taken out."""
    if REMOVE.search(text):
        return "remove", REMOVE.sub(" ", text)
    if _ADD.search(text):
        return "add", _ADD.sub(" ", text)
    return "set", text


def asks_removal(text: str) -> bool:
    return bool(REMOVE.search(text))


_EXPLICIT_CANCEL = re.compile(r"\b(cancel|cancle|radda|rad|stop|band)\b|रद्द", re.IGNORECASE)


def says_cancel(text: str) -> bool:
    """"cancel", "radda", "रद्द": an explicit cancel, as opposed to a bare "no" ("hoina"), which
    on a draft may mean "not like this" as well as "not at all"."""
    return bool(_EXPLICIT_CANCEL.search(text))


def cancels_order(text: str) -> bool:
    """"cancel KH-000123", "KH-123 radda": a placed order named with a cancel word."""
    return words.order_number(text) is not None and bool(CANCEL_ORDER.search(text))


def chosen(text: str, candidates: Sequence[str], parse: Callable[[str], ParseResult]
           ) -> tuple[str | None, ParsedItem | None]:
    """"2", "२" or a name among the candidates; with the item when the name came with its own
    quantity ("basmati 20 bora")."""
    plain = numbers.ascii_digits(text).strip(" .)")
    if plain.isdigit():
        index = int(plain) - 1
        return (candidates[index] if 0 <= index < len(candidates) else None), None
    parsed = parse(text)
    for item in parsed.items:
        if item.sku in candidates:
            return item.sku, (item if item.quantity_stated else None)
    for ambiguity in parsed.ambiguous:
        inside = [c for c in ambiguity.candidates if c in candidates]
        if len(inside) == 1:
            return inside[0], None
    return None, None


def named_skus(parsed: ParseResult) -> set[str]:
    """Every product a message could mean (its items, and every candidate of a vague word)."""
    named = {item.sku for item in parsed.items}
    for ambiguity in parsed.ambiguous:
        named.update(ambiguity.candidates)
    return named
