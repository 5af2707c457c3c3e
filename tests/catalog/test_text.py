"""Normalisation: Devanagari and roman spellings of a word meet in one key."""

from __future__ import annotations

import pytest

from catalog.text import normalise, transliterate, word_key


@pytest.mark.parametrize(
    ("devanagari", "roman"),
    [
        ("चामल", "chamal"),
        ("चिनी", "chini"),
        ("मन्सुली", "mansuli"),
        ("तेल", "tel"),
        ("अण्डा", "anda"),
        ("दूध", "dudh"),
        ("नमस्ते", "namaste"),
        ("बाँकी", "baki"),
        ("छ", "cha"),
        ("हुन्छ", "huncha"),
        ("बोरा", "bora"),
        ("केजी", "keji"),
    ],
)
def test_devanagari_word_has_the_key_of_its_roman_spelling(devanagari: str, roman: str) -> None:
    assert word_key(normalise(devanagari).strip()) == word_key(roman)


@pytest.mark.parametrize(
    ("variant", "key"),
    [
        ("cheeni", "chini"),
        ("chinni", "chini"),
        ("basmatti", "basmati"),
        ("mansulli", "mansuli"),
        ("noon", "nun"),
        ("doodh", "dudh"),
        ("jeera", "jira"),
    ],
)
def test_spelling_variants_fold_to_one_key(variant: str, key: str) -> None:
    assert word_key(variant) == key


def test_devanagari_digits_become_ascii() -> None:
    assert normalise("२५ केजी").split() == ["25", "kejii"]


def test_abbreviation_dots_join_but_decimals_stay() -> None:
    assert normalise("1.5 k.g. के.जी.").split() == ["1.5", "kg", "kejii"]


def test_punctuation_emoji_and_control_characters_become_spaces() -> None:
    assert normalise("chini🙏\x00(2)\x1bkg!").split() == ["chini", "2", "kg"]


def test_separators_are_kept_for_splitting_items() -> None:
    assert normalise("chini 2 kg, nun + tel") == "chini 2 kg, nun + tel"


def test_word_final_vowel_is_dropped_in_long_words_but_kept_after_conjuncts() -> None:
    assert transliterate("चामल") == "chaamal"
    assert transliterate("रद्द") == "radda"
    assert transliterate("र") == "ra"
