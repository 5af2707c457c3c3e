"""Structured logs: one JSON object a line, tagged with the inbound message id, phones masked.

Masking is done on the finished line, so it holds for every logger and argument: any run of 8
to 15 digits (a phone number of any country, E.164 allows no more), or a `+` followed by as
many digits with spaces, dashes, dots or brackets between them, keeps only its first and last
few digits. Message bodies are never logged at INFO (they are not passed to loggers at all).
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime

_message_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("message_id", default=None)
_PHONE = re.compile(r"(?<![\d+])(?:\+\d(?:[ \-.()]{0,2}\d){7,14}|\d{8,15})(?!\d)")
_DIGIT = re.compile(r"\d")

# Their INFO lines say nothing an operator needs (`transitions` logs every state change).
# fontTools logs every table of every font it subsets at INFO: a statement PDF printed hundreds
# of lines to the terminal and the server log.
QUIET_LOGGERS = ("aiohttp.access", "pgserver", "transitions", "fontTools")


@contextlib.contextmanager
def message_context(wamid: str) -> Iterator[None]:
    """Every log line inside carries this inbound message's id."""
    token = _message_id.set(wamid)
    try:
        yield
    finally:
        _message_id.reset(token)


def mask_phones(text: str) -> str:
    return _PHONE.sub(_mask, text)


def _mask(match: re.Match[str]) -> str:
    """`+9779812345678` → `+977*******678`: enough to tell people apart, no more."""
    found = match.group(0)
    digits = len(_DIGIT.findall(found))
    head, tail = (3 if digits >= 11 else 2), (3 if digits >= 10 else 2)
    seen = 0

    def one(digit: re.Match[str]) -> str:
        nonlocal seen
        seen += 1
        return digit.group(0) if seen <= head or seen > digits - tail else "*"

    return _DIGIT.sub(one, found)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": mask_phones(record.getMessage()),
        }
        wamid = _message_id.get()
        if wamid:
            line["wamid"] = wamid
        if record.exc_info:
            line["error"] = mask_phones(self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=False)


def setup(level: str) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in QUIET_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.WARNING)
