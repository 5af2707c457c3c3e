"""JSON from outside, read without surprises: nesting past a limit is cut out instead of raising a
RecursionError, and numbers that Python or PostgreSQL cannot hold (NaN, Infinity, 1e999, ten
thousand digits) are marked instead of failing the whole document.

Each cut-out part is replaced by a marker string; `Parsed.cuts` says what was there, so a reader
can set aside exactly the items that hold one and keep the rest.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

MAX_INT_DIGITS = 1000  # far beyond any id or amount; Python itself refuses ints past 4,300 digits

# A JSON string (escapes included) or one bracket; strings are matched whole so that brackets
# inside them are not counted.
_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)


class Unreadable(ValueError):
    """The document is not JSON at all (or not UTF-8)."""


@dataclass(frozen=True)
class Cut:
    """What stood where a marker is now, and why it was taken out."""

    reason: str
    raw: str


@dataclass(frozen=True)
class Parsed:
    value: Any
    cuts: dict[str, Cut] = field(default_factory=dict)


def loads(body: bytes, *, max_depth: int) -> Parsed:
    """Parse `body`; containers nested deeper than `max_depth` become marker strings."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Unreadable(f"body is not UTF-8 (byte {exc.start})") from None
    # A marker cannot be guessed by whoever wrote the body: it depends on the body itself.
    prefix = "khaacho-cut-" + hashlib.sha256(body).hexdigest()[:32] + "-"
    cuts: dict[str, Cut] = {}

    def mark(reason: str, raw: str) -> str:
        marker = f"{prefix}{len(cuts)}"
        cuts[marker] = Cut(reason, raw)
        return marker

    if text.count("[") + text.count("{") > max_depth:  # only then can it be too deep
        text = _cut_deep(text, max_depth, mark)

    def big_int(digits: str) -> Any:
        if len(digits.lstrip("-")) > MAX_INT_DIGITS:
            return mark(f"a number longer than {MAX_INT_DIGITS} digits", digits[:200])
        return int(digits)

    def finite_float(raw: str) -> Any:
        value = float(raw)
        return value if math.isfinite(value) else mark("a number out of range", raw[:200])

    try:
        value = json.loads(
            text, parse_int=big_int, parse_float=finite_float,
            parse_constant=lambda name: mark(f"{name} is not a JSON number", name),
        )
    except json.JSONDecodeError as exc:
        raise Unreadable(f"not JSON: {exc.msg} at character {exc.pos}") from None
    except RecursionError:  # cannot happen after the cut; kept so that it can never escape
        raise Unreadable("nested too deeply to read") from None
    return Parsed(value, cuts)


def _cut_deep(text: str, max_depth: int, mark: Callable[[str, str], str]) -> str:
    """Replace every container that starts below `max_depth` levels by a marker string."""
    pieces: list[str] = []
    depth, start, copied = 0, -1, 0
    for token in _TOKEN.finditer(text):
        char = token.group()[0]
        if char == '"':
            continue
        if char in "[{":
            depth += 1
            if depth == max_depth + 1:
                start = token.start()
        else:
            if depth == max_depth + 1 and start >= 0:
                pieces += [text[copied:start], _quoted(mark(
                    f"nested deeper than {max_depth} levels", text[start:token.end()]))]
                copied, start = token.end(), -1
            depth -= 1
    if start >= 0:  # never closed: what is left cannot be JSON, and json.loads will say so
        pieces += [text[copied:start], _quoted(mark("unclosed nesting", text[start:]))]
        copied = len(text)
    pieces.append(text[copied:])
    return "".join(pieces)


def _quoted(marker: str) -> str:
    return '"' + marker + '"'
