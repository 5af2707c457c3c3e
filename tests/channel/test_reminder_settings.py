"""Reminder settings as an operator writes them in the environment, and what they refuse."""

from __future__ import annotations

from datetime import date, time

import pytest
from pydantic import ValidationError

from bot.app import reminder_rules
from bot.settings import Settings


def _settings(monkeypatch: pytest.MonkeyPatch, **env: str) -> Settings:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Settings(_env_file=None)  # type: ignore[call-arg]


def test_the_ladder_quiet_hours_pause_dates_and_templates_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = _settings(
        monkeypatch, REMINDER_DAYS="-5, 0, 2, 10", REMINDER_REPEAT_DAYS="14",
        REMINDER_QUIET_HOURS="21:30-7:00", VENDOR_DIGEST_AT="07:30",
        REMINDER_PAUSE_DATES="2026-10-17..2026-10-19,2026-11-08",
        REMINDER_TEMPLATE_OVERDUE="late_payment", REMINDER_TEMPLATE_OVERDUE_PARAMS="shop,overdue")
    rules = reminder_rules(settings)
    assert (rules.ladder, rules.repeat_days) == ((-5, 0, 2, 10), 14)
    assert (rules.quiet_from, rules.quiet_until, rules.digest_at) == (
        time(21, 30), time(7, 0), time(7, 30))
    assert rules.pause_days == {date(2026, 10, 17), date(2026, 10, 18), date(2026, 10, 19),
                                date(2026, 11, 8)}
    assert (rules.templates["overdue"].name, rules.templates["overdue"].params) == (
        "late_payment", ("shop", "overdue"))
    assert rules.templates["due_soon"].name == "khaacho_due_soon"  # the defaults stand


@pytest.mark.parametrize(("name", "value"), [
    ("REMINDER_DAYS", "0,-3"), ("REMINDER_DAYS", "1,1"), ("REMINDER_DAYS", ""),
    ("REMINDER_QUIET_HOURS", "evening"), ("REMINDER_PAUSE_DATES", "2026-10-20..2026-10-10"),
    ("REMINDER_PAUSE_DATES", "2026-01-01..2026-12-31"), ("REMINDER_PAUSE_DATES", "Dashain"),
])
def test_settings_that_make_no_sense_are_refused_at_start(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str,
) -> None:
    with pytest.raises(ValidationError):
        _settings(monkeypatch, **{name: value})


def test_an_unknown_template_parameter_is_refused_at_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(ValidationError, match="unknown parameters"):
        _settings(monkeypatch, REMINDER_TEMPLATE_DUE_TODAY_PARAMS="name,phone")
