"""Numbers as people in Nepal type them: digits, rupees and phone numbers (locales.numbers)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from locales.formats import digits, money
from locales.numbers import (
    MAX_RUPEES,
    PhoneError,
    ascii_digits,
    leading_phone,
    mask,
    normalize_phone,
    paisa,
    phone,
    split_amount,
    wa_id,
)

E164 = re.compile(r"\+[1-9][0-9]{7,14}")  # the users.phone CHECK of migration 001


def test_devanagari_digits_become_ascii_and_nothing_else_changes():
    assert ascii_digits("चिनी ५ kg, ०१२३४५६७८९") == "चिनी 5 kg, 0123456789"


@pytest.mark.parametrize(("text", "expected"), [
    ("5000", 500_000), ("5,000", 500_000), ("1,00,000", 10_000_000), ("Rs 5,000", 500_000),
    ("rs.500", 50_000), ("NPR 20", 2_000), ("रु ५०००", 500_000), ("रू 5", 500),
    ("1250.50", 125_050), ("1250.5", 125_050), ("0", 0), (" 75 ", 7_500),
])
def test_rupees_as_typed_are_read_in_paisa(text, expected):
    assert paisa(text) == expected


@pytest.mark.parametrize("text", [
    "", "abc", "-5", "5.123", "5,0", "1e3", "NaN", "Infinity", "5 000", "Rs",
    "१२,३४५,६७,८९,०१२,३४५", str(MAX_RUPEES + 1), "1" * 13,
])
def test_what_is_not_an_amount_is_none(text):
    assert paisa(text) is None


def test_the_bound_is_a_parameter():
    assert paisa(str(MAX_RUPEES)) == MAX_RUPEES * 100
    assert paisa("20,00,00,000") is None
    assert paisa("20,00,00,000", max_rupees=10**11) == 20_00_00_000 * 100
    assert paisa("101", max_rupees=100) is None


def test_an_amount_is_split_from_the_words_after_it():
    assert split_amount("Rs 5,000 bounced cheque") == (500_000, "bounced cheque")
    assert split_amount("५००० cash") == (500_000, "cash")
    assert split_amount("lots of money") == (None, "of money")
    assert split_amount("  ") == (None, "")


@pytest.mark.parametrize("raw", ["+9779812345678", "9779812345678", "9812345678",
                                 "981-234-5678", "००९७७९८१२३४५६७८", "+977 (981) 234.5678"])
def test_phones_are_stored_as_e164(raw):
    assert normalize_phone(raw) == "+9779812345678"


@pytest.mark.parametrize("raw", ["", "12", "abc", "+977123", "0981234567", "+9771234567890",
                                 "+9779512345678", "+1234567890", "+4420794600",
                                 "٩٨١٢٣٤٥٦٧٨", "+977981234567８"])
def test_bad_phones_are_refused(raw):
    with pytest.raises(PhoneError):
        normalize_phone(raw)


def test_numbers_abroad_must_be_valid_there():
    assert normalize_phone("+91 98123 45678") == "+919812345678"
    assert normalize_phone("0044 20 7946 0000") == "+442079460000"
    assert normalize_phone("16505551234") == "+16505551234"  # digits alone are international
    with pytest.raises(PhoneError, match="not a phone number"):
        normalize_phone("+44 20 7946 00")


def test_a_refused_phone_is_masked_in_the_error():
    with pytest.raises(PhoneError) as caught:
        normalize_phone("+9775812345678")
    assert "5812345" not in str(caught.value) and "Nepali mobile" in str(caught.value)


def test_phone_and_leading_phone_read_commands():
    assert phone("9820000003") == "+9779820000003"
    assert phone("hello") is None
    assert leading_phone("+977 982-0000003 5000 cash") == ("+9779820000003", "5000 cash")
    assert leading_phone("9820000003 Ram Kirana") == ("+9779820000003", "Ram Kirana")
    assert leading_phone("Ram  9820000003") == (None, "Ram 9820000003")
    assert leading_phone("") == (None, "")


def test_whatsapp_ids_are_e164_without_the_plus():
    assert wa_id("+9779812345678") == "9779812345678"


def test_masked_phones_show_only_the_ends():
    assert mask("+9779812345678") == "+9779******678"
    assert mask(None) == mask("") == "-"
    assert mask("12345678") == "********"  # 5 + 3 kept of 8 would be all of it


# --- properties ------------------------------------------------------------------------------

@given(st.text(max_size=60))
def test_no_text_crashes_the_readers(text):
    assert paisa(text) is None or paisa(text) >= 0
    amount, rest = split_amount(text)
    assert amount is None or amount >= 0
    assert len(rest) <= len(text)
    found = phone(text)
    assert found is None or E164.fullmatch(found)
    lead, _ = leading_phone(text)
    assert lead is None or E164.fullmatch(lead)
    assert len(mask(text)) == len(text) or (text == "" and mask(text) == "-")
    assert len(ascii_digits(text)) == len(text)


@given(st.integers(min_value=0, max_value=(MAX_RUPEES + 2) * 100), st.sampled_from(["en", "ne"]))
def test_formatted_amounts_read_back_to_the_same_paisa(amount, lang):
    shown = money(amount, lang)  # "रु 1,23,456.50", Devanagari digits in Nepali
    # The bound is on whole rupees: Rs 1,00,00,000.50 is still within a crore.
    expected = amount if amount // 100 <= MAX_RUPEES else None
    assert paisa(shown) == expected
    assert split_amount(f"{shown} for the cheque") == (expected, "for the cheque")


@given(st.from_regex(r"9[678][0-9]{8}", fullmatch=True),
       st.sampled_from([
           lambda n: n, lambda n: "+977" + n, lambda n: "977" + n, lambda n: "00977" + n,
           lambda n: f"+977 {n[:3]} {n[3:]}", lambda n: f"{n[:3]}-{n[3:6]}-{n[6:]}",
           lambda n: f"+977 ({n[:3]}) {n[3:6]}.{n[6:]}"]),
       st.booleans(), st.integers(min_value=1, max_value=10**6))
def test_nepali_mobiles_read_the_same_however_typed(local, shape, devanagari, amount):
    typed = shape(local)
    if devanagari:
        typed = digits(typed, "ne")
    e164 = "+977" + local
    assert normalize_phone(typed) == e164
    assert normalize_phone(e164) == e164  # idempotent
    assert leading_phone(f"{typed} {amount}") == (e164, str(amount))
    masked = mask(e164)
    assert masked[:5] == e164[:5] and masked[-3:] == e164[-3:] and local[2:7] not in masked
