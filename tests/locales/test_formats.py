"""Money, numbers and dates as people in Nepal read them (phones: test_numbers.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from locales.formats import bs_date, clock, day, money, number


def test_money_uses_lakh_grouping_rs_for_english_and_devanagari_for_nepali():
    assert money(12_345_600, "en") == "Rs 1,23,456"
    assert money(560_000, "en") == "Rs 5,600"
    assert money(12_345_650, "ne") == "रु १,२३,४५६.५०"
    assert money(560_000, "ne") == "रु ५,६००"
    assert money(-5_000, "en") == "-Rs 50"
    assert money(-5_000, "ne") == "-रु ५०"
    with pytest.raises(TypeError):
        money(1.5, "en")  # type: ignore[arg-type]


def test_numbers_keep_decimals_and_group_in_lakhs():
    assert number(1.5, "ne") == "१.५"
    assert number(123456789, "en") == "12,34,56,789"


def test_dates_are_shown_in_nepal_time_with_bikram_sambat():
    late_evening_utc = datetime(2026, 11, 25, 20, 0, tzinfo=UTC)  # already the 26th in Nepal
    assert clock(late_evening_utc, "en") == "01:45"
    assert day(late_evening_utc, "en") == "26 Nov 2026 (10 Mangsir 2083 BS)"
    assert day(late_evening_utc, "ne").startswith("२०८३ मंसिर १०")
    assert bs_date(date(2026, 4, 14), "en") == "1 Baisakh 2083"
    with pytest.raises(ValueError):
        clock(datetime(2026, 1, 1), "en")  # naive times are refused
