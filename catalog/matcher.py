"""Finding the products a phrase names: an index built once per catalog, then exact, partial
and fuzzy look-ups, in that order, so the common case costs a dict look-up.

Rules, in order:
1. The whole phrase is a name or alias of a product (spaces ignored: "waiwai" = "wai wai").
   The longest name wins because the phrase is matched whole: "jeera masino" is rice, "jeera"
   alone is cumin. A phrase that is an alias of several products ("badam") is ambiguous.
2. Every word of the phrase occurs in the names of some products ("chamal", "wai wai",
   "jeera masino chamal"): one product is a match, several are ambiguous; never guessed.
3. Misspelt words ("lifbuoy", "chinni") are corrected to the nearest catalog word of the same
   first letter and 1-2 retried; then the whole phrase is compared with every name of the same
   first letter ("waiwaichiken").
"""

from __future__ import annotations

import heapq
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA, Indel

from catalog.model import Product
from catalog.quantity import Vocabulary
from catalog.text import normalise

MAX_CANDIDATES = 10
# Phrases longer than this are not product names; matching them would only cost time.
MAX_PHRASE_WORDS = 8
# Spelling correction allows one typo (a letter missing, extra, wrong or swapped), two in long
# words. Short words are too easily mistaken for another: under 4 letters none ("tel" is not
# "tea"), under 6 only a missing or extra letter ("kati" is not "kafi").
_MIN_CORRECTABLE = 4
_MEDIUM_WORD = 6
_LONG_WORD = 8
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

    def __init__(self, products: Sequence[Product], vocabulary: Vocabulary) -> None:
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
        self.longest_name = 1
        by_initial: dict[str, dict[str, None]] = defaultdict(dict)
        for position, product in enumerate(products):
            if product.sku in self.products:
                raise ValueError(f"duplicate sku {product.sku}")
            self.products[product.sku] = product
            self._order[product.sku] = position
            for name in _names(product):
                text = normalise(name)
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
        for word in self._words:
            if word.isalpha():
                words_by_initial[word[0]].append(word)
        self._words_by_initial = dict(words_by_initial)
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
        return self._fuzzy_phrase(" ".join(words))

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
        """The catalog word nearest a misspelt one, or the word itself."""
        if word in self._words or len(word) < _MIN_CORRECTABLE or not word.isalpha():
            return word
        scorer = OSA.distance if len(word) >= _MEDIUM_WORD else Indel.distance
        typos = 2 if len(word) >= _LONG_WORD else 1
        best = process.extractOne(
            word, self._words_by_initial.get(word[0], []), scorer=scorer, score_cutoff=typos
        )
        return word if best is None else best[0]

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
