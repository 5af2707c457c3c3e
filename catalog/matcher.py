"""Finding the products a phrase names: an index built once per catalog, then exact, partial
and fuzzy look-ups, in that order, so the common case costs a dict look-up.

Rules, in order:
1. The whole phrase is a name or alias of a product (spaces ignored: "waiwai" = "wai wai").
   The longest name wins because the phrase is matched whole: "jeera masino" is rice, "jeera"
   alone is cumin. A phrase that is an alias of several products ("badam") is ambiguous.
2. Every word of the phrase occurs in the names of some products ("chamal", "wai wai",
   "jeera masino chamal"): one product is a match, several are ambiguous; never guessed.
3. Misspelt words are corrected to the one catalog word of the same first letter they can be
   mistaken for, and 1-2 retried; then the whole phrase is compared with every name of the same
   first letter ("waiwaichiken"). Keys already fold what romanised spellings vary most in
   (vowel length, doubled letters, "sh"/"s", "c"/"k": see `catalog.text.word_key`); beyond
   that a word may differ by
   - one vowel, from 5 letters ("suger", "arial"): romanised Nepali writes vowels loosely;
   - one letter missing or extra, from 4 letters ("chni", "lifbuoy");
   - one letter wrong or two swapped, from 6 letters ("noodels");
   - two such typos from 8 letters.
   Short words are too easily mistaken for another ("kati" is not "kafi", "tel" is not "tea"),
   so consonants are never swapped under 6 letters; when two catalog words are equally near and
   name different products, nothing is guessed. Words the parser knows are not products
   (`protected`: question words, chatter, fillers) are never corrected.
"""

from __future__ import annotations

import heapq
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA, Indel, Levenshtein

from catalog.model import Product
from catalog.quantity import Vocabulary
from catalog.text import normalise

MAX_CANDIDATES = 10
# Phrases longer than this are not product names; matching them would only cost time.
MAX_PHRASE_WORDS = 8
# Spelling correction (see rule 3): under 4 letters none, under 5 no vowel swapped ("maggi" is
# not "mugi"), under 6 no consonant swapped.
_MIN_CORRECTABLE = 4
_MIN_VOWEL_SWAP = 5
_MEDIUM_WORD = 6
_LONG_WORD = 8
# Enough near words to see a tie between the best two.
_NEAREST = 4
_VOWELS = re.compile(r"[aeiouy]+")  # "y" too: "chiny" is "chini"
_PHRASE_CUTOFF = 86.0
_PARENTHESIS = re.compile(r"\(([^)]*)\)")

How = Literal["exact", "partial", "fuzzy"]


@dataclass(frozen=True, slots=True)
class Match:
    """The products a phrase may name, best first; more than one means ask the retailer."""

    skus: tuple[str, ...]
    how: How
    # The catalog name that matched (keyed), or the phrase itself for partial matches.
    name: str


class CatalogIndex:
    """Look-up tables over every name of every product, built once per catalog."""

    def __init__(
        self,
        products: Sequence[Product],
        vocabulary: Vocabulary,
        protected: frozenset[str] = frozenset(),
    ) -> None:
        """`protected`: keyed words never corrected into a catalog word."""
        self._protected = protected
        self.products: dict[str, Product] = {}
        self._order: dict[str, int] = {}
        # Compact key (words joined without spaces) -> skus, in catalog order.
        self._exact: dict[str, list[str]] = defaultdict(list)
        self._exact_name: dict[str, str] = {}
        # Word -> sku -> length of the shortest name of that product holding the word, so
        # candidates of a generic word can be ranked with the most specific names first.
        self._words: dict[str, dict[str, int]] = defaultdict(dict)
        # Names spelled with unit or number words ("parle g", "2 pm", "milk packet").
        self.names_with_quantity_words: set[tuple[str, ...]] = set()
        # Every word of every name as written (normalised, and Devanagari as is), unkeyed.
        self.typed_name_words: set[str] = set()
        self.longest_name = 1
        by_initial: dict[str, dict[str, None]] = defaultdict(dict)
        for position, product in enumerate(products):
            if product.sku in self.products:
                raise ValueError(f"duplicate sku {product.sku}")
            self.products[product.sku] = product
            self._order[product.sku] = position
            for name in _names(product):
                text = normalise(name)
                self.typed_name_words.update(text.split())
                self.typed_name_words.update(name.lower().split())
                words = tuple(w.key for w in vocabulary.words(text))
                if not words or len(words) > MAX_PHRASE_WORDS:
                    continue
                compact = "".join(words)
                skus = self._exact[compact]
                if product.sku not in skus:
                    skus.append(product.sku)
                self._exact_name.setdefault(compact, " ".join(text.split()))
                length = len(compact)
                for word in words:
                    known = self._words[word].get(product.sku)
                    if known is None or length < known:
                        self._words[word][product.sku] = length
                if any(vocabulary.unit(w) or vocabulary.number(w) is not None for w in words):
                    self.names_with_quantity_words.add(words)
                    self.longest_name = max(self.longest_name, len(words))
                by_initial[compact[0]][" ".join(words)] = None
        # Typos rarely change the first letter, so each misspelt word is compared only with
        # catalog words of the same initial: fewer false friends, and faster.
        words_by_initial: dict[str, list[str]] = defaultdict(list)
        by_skeleton: dict[str, list[str]] = defaultdict(list)
        for word in self._words:
            if word.isalpha():
                words_by_initial[word[0]].append(word)
                if len(word) >= _MIN_CORRECTABLE - 1:
                    by_skeleton[_skeleton(word)].append(word)
        self._words_by_initial = dict(words_by_initial)
        self._by_skeleton = dict(by_skeleton)
        self._by_initial = {k: list(v) for k, v in by_initial.items()}

    def is_name_word(self, word: str) -> bool:
        """Whether the word occurs in any product name or alias."""
        return word in self._words

    def match(self, words: Sequence[str]) -> Match | None:
        """The products the keyed words name, or None when nothing in the catalog fits."""
        if not words or len(words) > MAX_PHRASE_WORDS:
            return None
        found = self._exact_or_partial(words, "exact")
        if found is not None:
            return found
        corrected = [self._correct(w) for w in words]
        if corrected != list(words):
            found = self._exact_or_partial(corrected, "fuzzy")
            if found is not None:
                return found
        # Run together ("waiwaichiken"); a phrase of several words is corrected word by word,
        # so one wrong word never turns into another ("magic powder" is not "milk powder").
        return self._fuzzy_phrase(words[0]) if len(words) == 1 else None

    def _exact_or_partial(self, words: Sequence[str], how: How) -> Match | None:
        compact = "".join(words)
        skus = self._exact.get(compact)
        if skus:
            return Match(tuple(skus[:MAX_CANDIDATES]), how, self._exact_name[compact])
        if any(w not in self._words for w in words):
            return None
        postings = sorted((self._words[w] for w in set(words)), key=len)
        common = set(postings[0]).intersection(*postings[1:])
        if not common:
            return None
        best = heapq.nsmallest(
            MAX_CANDIDATES,
            common,
            key=lambda sku: (max(p[sku] for p in postings), self._order[sku]),
        )
        return Match(tuple(best), "partial" if how == "exact" else how, " ".join(words))

    def _correct(self, word: str) -> str:
        """The one catalog word a misspelt word can be mistaken for, or the word itself."""
        if (
            word in self._words
            or len(word) < _MIN_CORRECTABLE
            or not word.isalpha()
            or word in self._protected
        ):
            return word
        typos = 2 if len(word) >= _LONG_WORD else 1
        # Vowels first: the same consonants in the same order ("suger" -> "sugar").
        vowels = [
            near
            for near in self._by_skeleton.get(_skeleton(word), ())
            if len(word) >= _MIN_VOWEL_SWAP
            and near[0] == word[0]
            and Levenshtein.distance(near, word, score_cutoff=typos) <= typos
        ]
        if vowels:
            return self._only(word, vowels)
        scorer = OSA.distance if len(word) >= _MEDIUM_WORD else Indel.distance
        found = process.extract(
            word,
            self._words_by_initial.get(word[0], []),
            scorer=scorer,
            score_cutoff=typos,
            limit=_NEAREST,
        )
        if not found:
            return word
        best = min(distance for _, distance, _ in found)
        return self._only(word, [near for near, distance, _ in found if distance == best])

    def _only(self, word: str, nearest: Sequence[str]) -> str:
        """The first of equally near words if they all name the same products, else `word`:
        "only one product fits", or nothing is guessed."""
        products = set(self._words[nearest[0]])
        if all(set(self._words[near]) == products for near in nearest[1:]):
            return nearest[0]
        return word

    def _fuzzy_phrase(self, phrase: str) -> Match | None:
        """A misspelt or run-together name ("waiwaichiken") against names of the same initial."""
        if len(phrase) < _MIN_CORRECTABLE:
            return None
        best = process.extractOne(
            phrase,
            self._by_initial.get(phrase[0], []),
            scorer=fuzz.ratio,
            score_cutoff=_PHRASE_CUTOFF,
        )
        if best is None:
            return None
        compact = best[0].replace(" ", "")
        return Match(tuple(self._exact[compact][:MAX_CANDIDATES]), "fuzzy", best[0])


def _skeleton(word: str) -> str:
    """A word with every run of vowels (and "y") written "a": "suger", "sugar" -> "sagar"."""
    return _VOWELS.sub("a", word)


def _names(product: Product) -> list[str]:
    """Every way the catalog names a product: aliases, and both names with and without the
    part in parentheses ("Beaten Rice (Chiura)" is also "Beaten Rice" and "Chiura")."""
    names = list(product.aliases)
    for name in (product.name_en, product.name_ne):
        names.append(name)
        inner = _PARENTHESIS.findall(name)
        if inner:
            names.append(_PARENTHESIS.sub(" ", name))
            names.extend(inner)
    return names
