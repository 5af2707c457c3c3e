"""Cutting a message into the phrases that each order (or ask about) one thing.

Items are separated by new lines, commas, "+", "&", ";", "|", the danda and the words
"ra"/"र"/"and"/"ani"/"tatha". The end of a sentence ends a phrase too, and a question mark
marks the phrases of its sentence as a question ("sanchai hunuhuncha? chini 2 bora" is small
talk, then an order; "चिनी र नुन छ?" asks about both). A list number or bullet at the start of
a line is dropped, so "1. atta 1 bora" orders one bora, not one-and-one.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from catalog.text import normalise

MAX_LINES = 100
MAX_SEGMENTS = 50

_LIST_MARKER = re.compile(
    r"^\s*(?:[0-9०-९]{1,3}\s*[.)](?![0-9०-९])|\(\s*[0-9०-९]{1,3}\s*\)|[-*•·▪►➤✓✔→>]+)\s*"
)
_SEPARATOR = re.compile(r"[,;+&|\n]|\b(?:ra|and|ani|tatha)\b")
# A sentence ends at a question mark, or at "." or "!" after a word ("bheed cha. chini 2 bora"),
# not inside "k.g." or "1.5".
_SENTENCE_END = re.compile(r"([?？]+)|(?<=[^\W\d_]{2})[.!]+(?=\s|$)")


class Segment(NamedTuple):
    """One normalised phrase, and whether it ends a question."""

    text: str
    question: bool


def split_items(text: str) -> tuple[list[Segment], bool]:
    """The phrases of a message, and whether any were left out by the limits."""
    lines = text.splitlines()
    truncated = len(lines) > MAX_LINES
    segments: list[Segment] = []
    for line in lines[:MAX_LINES]:
        line = _LIST_MARKER.sub("", line, count=1)
        start = 0
        for end in _SENTENCE_END.finditer(line):
            _add(segments, line[start : end.start()], asked=end.group(1) is not None)
            start = end.end()
        _add(segments, line[start:], asked=False)
    if len(segments) > MAX_SEGMENTS:
        return segments[:MAX_SEGMENTS], True
    return segments, truncated


def _add(segments: list[Segment], sentence: str, *, asked: bool) -> None:
    parts = (part.strip() for part in _SEPARATOR.split(normalise(sentence)))
    segments.extend(Segment(part, asked) for part in parts if part)
