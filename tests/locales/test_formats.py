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


def test_numbers_and_rupees_group_exactly_as_babels_lakh_pattern() -> None:
    """The whole-number shortcut and the parsed patterns write what babel's format_decimal
    writes with the same pattern, for counts, rupees, decimals and negatives."""
    import random
    from decimal import Decimal

    from babel.numbers import format_decimal

    from locales import formats

    pick = random.Random(13)
    wholes = [0, 1, 9, 10, 99, 100, 999, 1000, 99_999, 100_000, 10**7, 10**12, -1, -1000,
              -123_456_789] + [pick.randint(-10**13, 10**13) for _ in range(2000)]
    parts = [0.5, 1234.5678, -98765.4321, 0.0005, 99.9995, -0.0004] + [
        pick.uniform(-1e9, 1e9) for _ in range(500)]
    quantities = [Decimal("2.500"), Decimal("0.250"), Decimal("1E+3"), Decimal("1.0015")] + [
        Decimal(pick.randint(-10**9, 10**9)).scaleb(-pick.randint(0, 6)) for _ in range(500)]
    for value in [*wholes, *parts, *quantities]:
        want = format_decimal(Decimal(str(value)), format="#,##,##0.###", locale="ne")
        want = "0" if want == "-0" else want  # a negative that rounds to nothing is nothing
        assert formats.number(value, "en") == want, value
        assert formats.number(value, "ne") == formats.digits(want, "ne"), value
    for paisa in wholes:
        rupees = format_decimal(abs(paisa) // 100, format="#,##,##0", locale="ne")
        cents = f".{abs(paisa) % 100:02d}" if abs(paisa) % 100 else ""
        assert formats.money(paisa, "en") == f"{'-' if paisa < 0 else ''}Rs {rupees}{cents}"
