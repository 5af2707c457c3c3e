"""Structured logs: one JSON object a line, tagged with the inbound message id, phones masked."""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime

from locales.numbers import mask

_message_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("message_id", default=None)
_PHONE = re.compile(r"\+?\b9\d{9,12}\b")


@contextlib.contextmanager
def message_context(wamid: str) -> Iterator[None]:
    """Every log line inside carries this inbound message's id."""
    token = _message_id.set(wamid)
    try:
        yield
    finally:
        _message_id.reset(token)


def mask_phones(text: str) -> str:
    return _PHONE.sub(lambda m: mask(m.group(0)), text)


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
    for noisy in ("aiohttp.access", "pgserver"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
