"""Cutting a message into the phrases that each order one thing.

Items are separated by new lines, commas, "+", "&", ";", "|", the danda and the words
"ra"/"र"/"and"/"ani"/"tatha". A list number or bullet at the start of a line is dropped, so
"1. atta 1 bora" orders one bora, not one-and-one.
"""

from __future__ import annotations

import re

from catalog.text import normalise

MAX_LINES = 100
MAX_SEGMENTS = 50

_LIST_MARKER = re.compile(
    r"^\s*(?:[0-9०-९]{1,3}\s*[.)](?![0-9०-९])|\(\s*[0-9०-९]{1,3}\s*\)|[-*•·▪►➤✓✔→>]+)\s*"
)
_SEPARATOR = re.compile(r"[,;+&|\n]|\b(?:ra|and|ani|tatha)\b")


def split_items(text: str) -> tuple[list[str], bool]:
    """The normalised phrases of a message, and whether any were left out by the limits."""
    lines = text.splitlines()
    truncated = len(lines) > MAX_LINES
    segments: list[str] = []
    for line in lines[:MAX_LINES]:
        line = _LIST_MARKER.sub("", line, count=1)
        segments.extend(s.strip() for s in _SEPARATOR.split(normalise(line)) if s.strip())
    if len(segments) > MAX_SEGMENTS:
        return segments[:MAX_SEGMENTS], True
    return segments, truncated
