"""Numbers, money and dates as people in Nepal read them: lakhs, Devanagari digits, BS dates."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_EVEN, Decimal
from functools import lru_cache

import nepali_datetime

from locales import Language

NEPAL_TIME = timezone(timedelta(hours=5, minutes=45), "NPT")
_DEVANAGARI_DIGITS = str.maketrans("0123456789", "०१२३४५६७८९")
_BS_MONTHS_NE = ("बैशाख", "जेठ", "असार", "साउन", "भदौ", "असोज",
                 "कात्तिक", "मंसिर", "पुस", "माघ", "फागुन", "चैत")
_BS_MONTHS_EN = ("Baisakh", "Jestha", "Asar", "Shrawan", "Bhadau", "Asoj",
                 "Kartik", "Mangsir", "Poush", "Magh", "Falgun", "Chaitra")


def digits(text: str, lang: Language) -> str:
    """Devanagari digits for Nepali readers, ASCII digits for English ones."""
    return text.translate(_DEVANAGARI_DIGITS) if lang == "ne" else text


# Decimals are rounded to thousandths half to even, as babel's "#,##,##0.###" would; a negative
# that rounds to nothing reads "0", where babel writes "-0".
_THOUSANDTH = Decimal("0.001")


def _grouped(whole: int) -> str:
    """1,23,45,678: what babel's lakh pattern makes of a whole number (the last three digits,
    then twos), without its decimal machinery: most numbers on a page are counts and rupees."""
    text = str(abs(whole))
    head, tail = text[:-3], text[-3:]
    pairs = []
    while len(head) > 2:
        pairs.append(head[-2:])
        head = head[:-2]
    return ("-" if whole < 0 else "") + ",".join([head, *reversed(pairs), tail] if head
                                                 else [*reversed(pairs), tail])


def number(value: int | float | Decimal, lang: Language) -> str:
    """1,23,456.5 — Nepali (lakh) grouping in both languages, at most three decimals."""
    if type(value) is int:
        return digits(_grouped(value), lang)
    # Without babel's decimal machinery, a fifth of a chat reply's rendering: most
    # decimals shown are quantities (2.5 kg) and every draft shows several.
    amount = value if isinstance(value, Decimal) else Decimal(str(value))
    rounded = amount.quantize(_THOUSANDTH, rounding=ROUND_HALF_EVEN)
    whole, _, fraction = f"{abs(rounded):f}".partition(".")
    fraction = fraction.rstrip("0")
    text = ("-" if rounded < 0 else "") + _grouped(int(whole)) + (
        f".{fraction}" if fraction else "")
    return digits(text, lang)


# How each language writes the rupee: English readers in Nepal write "Rs", Nepali ones "रु".
_RUPEE = {"en": "Rs", "ne": "रु"}


def money(paisa: int, lang: Language) -> str:
    """"Rs 1,23,456" or "रु १,२३,४५६.५०" from integer paisa; never through float."""
    if not isinstance(paisa, int):
        raise TypeError("money is integer paisa")
    sign = "-" if paisa < 0 else ""
    rupees, cents = divmod(abs(paisa), 100)
    text = _grouped(rupees)
    if cents:
        text += f".{cents:02d}"
    return f"{sign}{_RUPEE[lang]} {digits(text, lang)}"


def nepal_time(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("naive datetime: times are stored and passed in UTC with tzinfo")
    return moment.astimezone(NEPAL_TIME)


@lru_cache(maxsize=8192)  # a statement or a chart names the same few hundred days over and over
def bs_date(day: date, lang: Language) -> str:
    """A Bikram Sambat date: "9 Mangsir 2083" or "२०८३ मंसिर ९"."""
    bs = nepali_datetime.date.from_datetime_date(day)
    if lang == "ne":
        return digits(f"{bs.year} {_BS_MONTHS_NE[bs.month - 1]} {bs.day}", lang)
    return f"{bs.day} {_BS_MONTHS_EN[bs.month - 1]} {bs.year}"


def bs_month(year: int, month: int, lang: Language) -> str:
    """A Bikram Sambat month: "Mangsir 2083" or "२०८३ मंसिर"."""
    if lang == "ne":
        return digits(f"{year} {_BS_MONTHS_NE[month - 1]}", lang)
    return f"{_BS_MONTHS_EN[month - 1]} {year}"


def day(moment: datetime | date, lang: Language) -> str:
    """A date in Nepal time; Nepali readers get Bikram Sambat first, AD after it."""
    local = nepal_time(moment).date() if isinstance(moment, datetime) else moment
    ad = local.strftime("%d %b %Y")
    if lang == "ne":
        return f"{bs_date(local, lang)} ({digits(local.isoformat(), lang)})"
    return f"{ad} ({bs_date(local, lang)} BS)"


def clock(moment: datetime, lang: Language) -> str:
    return digits(nepal_time(moment).strftime("%H:%M"), lang)


def percent(share: float, lang: Language) -> str:
    """A share 0..1 as a whole percentage: "92%" or "९२%"."""
    return digits(f"{round(share * 100)}%", lang)
