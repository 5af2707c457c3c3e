"""Text normalisation: one romanised, lower-case form for messages, aliases and vocabularies.

Everything the parser compares goes through `normalise` and `word_key`, so "चामल", "chaamal"
and "chamal" meet in the same key, and the rest of the package never sees Devanagari.
"""

from __future__ import annotations

import functools
import re
import unicodedata

from locales.numbers import ascii_digits

# No product or unit word is longer; longer "words" are noise and are left unfolded.
MAX_WORD_CHARS = 40

_CONSONANTS: dict[str, str] = {
    "क": "k", "ख": "kh", "ग": "g", "घ": "gh", "ङ": "ng",
    "च": "ch", "छ": "chh", "ज": "j", "झ": "jh", "ञ": "n",
    "ट": "t", "ठ": "th", "ड": "d", "ढ": "dh", "ण": "n",
    "त": "t", "थ": "th", "द": "d", "ध": "dh", "न": "n",
    "प": "p", "फ": "ph", "ब": "b", "भ": "bh", "म": "m",
    "य": "y", "र": "r", "ल": "l", "व": "w",
    "श": "sh", "ष": "sh", "स": "s", "ह": "h",
}  # fmt: skip
_VOWELS: dict[str, str] = {
    "अ": "a", "आ": "aa", "इ": "i", "ई": "ii", "उ": "u", "ऊ": "uu", "ऋ": "ri",
    "ए": "e", "ऐ": "ai", "ओ": "o", "औ": "au",
}  # fmt: skip
_VOWEL_SIGNS: dict[str, str] = {
    "ा": "aa", "ि": "i", "ी": "ii", "ु": "u", "ू": "uu", "ृ": "ri",
    "े": "e", "ै": "ai", "ो": "o", "ौ": "au",
}  # fmt: skip
_VIRAMA = "्"
_NUKTA = "़"
_ANUSVARA = "ं"
_CHANDRABINDU = "ँ"
_VISARGA = "ः"
_DANDA = "।॥"

# Roman spellings vary most in vowel length and doubled letters ("cheeni", "chinni", "basmatti"),
# so keys fold those away; "chh"/"sh"/"ph" fold to what retailers usually type.
_KEY_FOLDS = (
    ("chh", "ch"),
    ("sh", "s"),
    ("ph", "f"),
    ("aa", "a"),
    ("ee", "i"),
    ("ii", "i"),
    ("oo", "u"),
    ("uu", "u"),
    ("v", "w"),
    ("z", "j"),
    ("q", "k"),
)
# English spellings write the k and s sounds with a "c" ("biscut", "cofee", "rice"); romanised
# Nepali writes k and s, so keys do too ("ch" stays: it is च).
_SOFT_C = re.compile(r"c(?=[eiy])")
_HARD_C = re.compile(r"c(?!h)")
_DOUBLE_LETTER = re.compile(r"([a-z])\1+")
_ABBREVIATION = re.compile(r"(?<![a-z0-9])(?:[a-z]{1,3}\.){1,3}")
_NOT_KEPT = re.compile(r"[^a-z0-9.,/+\n&;|]+")
_STRAY_DOT = re.compile(r"(?<!\d)\.|\.(?!\d)")
_THOUSANDS_COMMA = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")


def transliterate(text: str) -> str:
    """Romanise Devanagari letters, leaving everything else as it is.

    The inherent vowel is written after a consonant unless a vowel sign or virama follows, and
    dropped at the end of a word of two or more syllables ("चामल" -> "chaamal"), as Nepali is
    spoken and typed; see `_keeps_final_schwa` for the exceptions.
    """
    out: list[str] = []
    syllables = 0
    pending_schwa = False
    in_cluster = False
    next_in_cluster = False
    for char in text:
        if char == _NUKTA:
            continue
        if pending_schwa:
            pending_schwa = False
            if char in _VOWEL_SIGNS:
                out.append(_VOWEL_SIGNS[char])
                continue
            if char == _VIRAMA:
                next_in_cluster = True
                continue
            if _is_devanagari_letter(char) or _keeps_final_schwa(out, syllables, in_cluster):
                out.append("a")
        if char in _CONSONANTS:
            in_cluster, next_in_cluster = next_in_cluster, False
            out.append(_CONSONANTS[char])
            syllables += 1
            pending_schwa = True
            continue
        in_cluster = next_in_cluster = False
        if char in _VOWELS:
            out.append(_VOWELS[char])
            syllables += 1
        elif char in _VOWEL_SIGNS:
            out.append(_VOWEL_SIGNS[char])
        elif char == _ANUSVARA:
            out.append("n")
        elif char == _VISARGA:
            out.append("h")
        elif char in (_CHANDRABINDU, _VIRAMA):
            # The nasal mark is rarely typed in roman ("baki" for "बाँकी").
            continue
        elif char in _DANDA:
            out.append(",")
        else:
            out.append(char)
            syllables = 0
    if pending_schwa and _keeps_final_schwa(out, syllables, in_cluster):
        out.append("a")
    return "".join(out)


def _keeps_final_schwa(out: list[str], syllables: int, in_cluster: bool) -> bool:
    """Whether a word-final consonant is said with its vowel: in one-syllable words ("छ" cha),
    after a conjunct ("रद्द" radda), and in the verb ending -छ ("आउँछ" aauchha)."""
    return syllables < 2 or in_cluster or out[-1] == _CONSONANTS["छ"]


def _is_devanagari_letter(char: str) -> bool:
    return char in _CONSONANTS or char in _VOWELS or char in (_ANUSVARA, _CHANDRABINDU, _VISARGA)


def normalise(text: str) -> str:
    """Lower-case roman text of a message, keeping only what carries meaning for an order.

    Kept: letters, digits, decimal points, fractions, and the separators "," "+" "&" ";" "|" and
    new lines; abbreviation dots ("k.g.") are dropped, anything else becomes a space.
    """
    if not text.isascii():
        text = ascii_digits(unicodedata.normalize("NFC", text))
        text = unicodedata.normalize("NFKD", transliterate(text))
        text = "".join(c for c in text if not unicodedata.combining(c))
    text = text.lower()
    text = _THOUSANDS_COMMA.sub("", text)
    text = _ABBREVIATION.sub(_join_abbreviation, text)
    text = _NOT_KEPT.sub(" ", text)
    return _STRAY_DOT.sub(" ", text)


def _join_abbreviation(match: re.Match[str]) -> str:
    """ "k.g." and "के.जी." are one word; "tel.nun." is two words run together."""
    pieces = match.group(0).rstrip(".").split(".")
    if len(pieces) > 1 and min(len(p) for p in pieces) > 2:
        return " ".join(pieces) + " "
    return "".join(pieces) + " "


@functools.lru_cache(maxsize=65_536)
def word_key(word: str) -> str:
    """The spelling-insensitive key of one normalised word ("cheeni", "chinni" -> "chini",
    "biscut" -> "biskut")."""
    if not word.isalpha() or len(word) > MAX_WORD_CHARS:
        return word
    for old, new in _KEY_FOLDS:
        word = word.replace(old, new)
    if "c" in word:
        word = _HARD_C.sub("k", _SOFT_C.sub("s", word))
    return _DOUBLE_LETTER.sub(r"\1", word)
