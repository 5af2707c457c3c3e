"""Logs: every phone number masked whatever the country or the logger, no message bodies at
INFO, and `transitions` quiet below WARNING."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator

import pytest
from transitions import Machine

from bot import logs, statement_doc
from bot.logs import JsonFormatter
from locales.render import Messages
from tests.channel.test_statement_files import sample
from tests.channel.test_webhook import text_message
from tests.conftest import eventually, post_webhook

PHONES = ["+9779812345678", "9779812345678", "9812345678", "+14155552671", "447911123456",
          "+44 7911 123456", "+1 (415) 555-2671", "+86-138-0013-8000", "+919876543210",
          "12345678", "+880 1712-345678"]


def formatted(message: str, *args: object, exc: bool = False) -> dict[str, str]:
    exc_info = None
    if exc:
        try:
            raise LookupError(f"no user {PHONES[0]}")
        except LookupError:
            exc_info = sys.exc_info()
    record = logging.LogRecord("any.logger", logging.INFO, __file__, 1, message, args, exc_info)
    line: dict[str, str] = json.loads(JsonFormatter().format(record))
    return line


def digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


@pytest.mark.parametrize("phone", PHONES)
def test_phone_numbers_of_any_country_are_masked_in_messages_and_arguments(phone):
    for line in (formatted(f"reply to {phone} now"), formatted("reply to %s now", phone),
                 formatted("%s", {"to": phone})):
        assert digits(phone) not in digits(line["message"]), line
        assert "*" in line["message"]
    # Enough is left to tell two people apart.
    assert formatted(phone)["message"][-2:] == phone[-2:]


def test_phone_numbers_in_tracebacks_are_masked():
    line = formatted("failed", exc=True)
    assert "LookupError" in line["error"] and "9812345678" not in line["error"]


def test_short_numbers_amounts_order_ids_and_dates_are_left_alone():
    text = "KH-000123 paid 5000 of 1234567 paisa at 2025-11-25 10:00:00, attempt 3"
    assert formatted(text)["message"] == text


@pytest.fixture
def restored_logging() -> Iterator[None]:
    """Whatever a test's `logs.setup` changes is undone afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    levels = {name: logging.getLogger(name).level for name in logs.QUIET_LOGGERS}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, quiet in levels.items():
        logging.getLogger(name).setLevel(quiet)


def test_transitions_info_lines_are_silenced(restored_logging, capsys):
    logs.setup("INFO")  # as `khaacho serve` does (here: the handler writes to captured stderr)
    machine = Machine(states=["idle", "busy"], initial="idle")
    machine.add_transition("go", "idle", "busy")
    machine.go()  # type: ignore[attr-defined]
    logging.getLogger("bot.test").info("a line of ours")
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [line["logger"] for line in lines] == ["bot.test"]
    assert logging.getLogger("transitions").isEnabledFor(logging.WARNING)


def test_drawing_a_statement_pdf_logs_nothing_at_info(restored_logging, capsys):
    logs.setup("INFO")  # fontTools' subsetter logs every table of every font it embeds at INFO
    assert statement_doc.pdf(sample(), "ne", Messages()).startswith(b"%PDF")
    assert capsys.readouterr().err == ""


async def test_no_message_body_and_no_whole_phone_is_logged_at_info(client, graph, caplog):
    caplog.set_level(logging.DEBUG)
    words, phone = "zebra quartz 7 bora", "9779844444444"
    assert (await post_webhook(client, text_message("wamid.LOGS", words, phone))).status == 200
    await eventually(lambda: graph.texts_to(phone))
    infos = [r for r in caplog.records if r.levelno == logging.INFO]
    assert any(r.name == "bot.webhook" for r in infos)  # there were lines to look at
    for record in infos:
        assert "zebra" not in record.getMessage(), record.getMessage()
    for record in caplog.records:
        assert phone[3:] not in JsonFormatter().format(record)
