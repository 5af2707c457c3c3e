"""What a retailer's conversation holds while they order, and the rules that change a draft's
lines. Plain functions and values: no database, so each rule is tested on its own.

The draft's lines themselves live in the ledger, as a DRAFT order (one truth, whoever edits it);
the conversation keeps only the id of that order and what is still being asked.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from ledger.pricing import LineRequest

MAX_LINES = 30
MAX_QUESTIONS = 10
MAX_UNKNOWN = 10
MAX_CANDIDATES = 10

Mode = Literal["add", "set"]


@dataclass(frozen=True)
class Question:
    """One word that fits several products ("dal"), a unit that does not convert ("2 dabba"
    of rice sold by the kg), or a zero or absurd quantity ("chini 0 kg"): asked one at a time."""

    text: str
    quantity: str | None  # as stated, a decimal string; None when not said
    unit: str | None
    candidates: tuple[str, ...]  # skus; one for a unit question
    reason: Literal["generic", "unit", "quantity"] = "generic"

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "quantity": self.quantity, "unit": self.unit,
                "candidates": list(self.candidates), "reason": self.reason}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Question:
        return cls(text=str(data.get("text", "")), quantity=_opt(data.get("quantity")),
                   unit=_opt(data.get("unit")),
                   candidates=tuple(str(c) for c in data.get("candidates") or ())[:MAX_CANDIDATES],
                   reason=_reason(data.get("reason")))


@dataclass(frozen=True)
class Asking:
    """The conversation's part of an order: the DRAFT order it points at (None until the draft
    has a line), the questions still open, and words nobody could match."""

    order_id: int | None = None
    questions: tuple[Question, ...] = ()
    unknown: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        return {"order_id": self.order_id, "questions": [q.to_json() for q in self.questions],
                "unknown": list(self.unknown)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Asking:
        """Read what a conversation stored; anything malformed reads as nothing asked."""
        order_id = data.get("order_id")
        questions = data.get("questions")
        unknown = data.get("unknown")
        return cls(
            order_id=order_id if isinstance(order_id, int) and not isinstance(order_id, bool)
            else None,
            questions=tuple(Question.from_json(q) for q in questions if isinstance(q, Mapping))
            if isinstance(questions, list) else (),
            unknown=tuple(str(u) for u in unknown)[:MAX_UNKNOWN]
            if isinstance(unknown, list) else (),
        )

    def asked(self, questions: Iterable[Question]) -> Asking:
        """More questions, up to the bound (the rest are dropped: one message cannot ask all)."""
        return replace(self, questions=(*self.questions, *questions)[:MAX_QUESTIONS])

    def answered(self) -> Asking:
        return replace(self, questions=self.questions[1:])


def _reason(value: object) -> Literal["generic", "unit", "quantity"]:
    return "unit" if value == "unit" else "quantity" if value == "quantity" else "generic"


def _opt(value: object) -> str | None:
    return None if value is None else str(value)


def merge(
    lines: Sequence[LineRequest], items: Iterable[LineRequest], mode: Mode
) -> list[LineRequest]:
    """Fold new items into a draft's lines: "add" sums quantities, "set" replaces them; a new
    unit word replaces the old one. New products join at the end, up to MAX_LINES."""
    merged = list(lines)
    where = {line.sku: n for n, line in enumerate(merged)}
    for item in items:
        if item.sku in where:
            old = merged[where[item.sku]]
            milli = item.quantity_milli + (old.quantity_milli if mode == "add" else 0)
            merged[where[item.sku]] = LineRequest(old.sku, milli, item.unit_text or old.unit_text)
        elif len(merged) < MAX_LINES:
            where[item.sku] = len(merged)
            merged.append(item)
    return merged


def add_answer(lines: Sequence[LineRequest], item: LineRequest) -> list[LineRequest]:
    """An answered question's product: added to its line if there is one (keeping that line's
    unit), else a new line."""
    for n, line in enumerate(lines):
        if line.sku == item.sku:
            return [*lines[:n], replace(line, quantity_milli=line.quantity_milli
                                        + item.quantity_milli), *lines[n + 1:]]
    return [*lines, item] if len(lines) < MAX_LINES else list(lines)


def remove(lines: Sequence[LineRequest], asking: Asking, skus: Collection[str]
           ) -> tuple[list[LineRequest], Asking]:
    """Drop the products named, and any open question about one of them."""
    return ([line for line in lines if line.sku not in skus],
            replace(asking, questions=tuple(q for q in asking.questions
                                            if not set(q.candidates) & set(skus))))


def revision(lines: Iterable[tuple[str, int, str]], total_paisa: int) -> str:
    """A short fingerprint of a draft's content: a Confirm button carries it, so a button under
    an older version of the draft is refused instead of confirming what it did not show."""
    text = ";".join(f"{sku}:{milli}:{unit}" for sku, milli, unit in lines) + f"={total_paisa}"
    return hashlib.sha256(text.encode()).hexdigest()[:8]
