"""Reading a vendor's existing book (khata) from CSV: one checked row at a time, never the whole
file. No database here: who the phones are is the import's business (`ledger.khata`).

Columns (a header row, UTF-8, any order, nothing else): date, vendor_phone, retailer_phone,
retailer_name, kind, amount, reference, due_date, method. `retailer_name`, `due_date` and
`method` may be left out of the header. Each problem names its line and column; reading goes on
after one, so a file's every mistake is told at once (the first MAX_PROBLEMS of them).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from ledger.payments import METHODS
from ledger.postings import MAX_AMOUNT_PAISA
from locales.numbers import PhoneError, normalize_phone, paisa

Kind = Literal["sale", "payment"]
COLUMNS = ("date", "vendor_phone", "retailer_phone", "retailer_name", "kind", "amount",
           "reference", "due_date", "method")
REQUIRED = ("date", "vendor_phone", "retailer_phone", "kind", "amount", "reference")

# Bounds: a book of a million lines is bigger than any one vendor keeps; a cell longer than
# this is not a phone, a name or a bill number.
MAX_ROWS = 1_000_000
MAX_CELL = 200
MAX_NAME = 120
MAX_REFERENCE = 100
MAX_PROBLEMS = 100
EARLIEST = date(1990, 1, 1)
MAX_RUPEES = MAX_AMOUNT_PAISA // 100


@dataclass(frozen=True, slots=True)
class Problem:
    line: int
    column: str  # "" for the whole line or file
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" + (f", column {self.column}" if self.column else "")
        return f"{where}: {self.message}"


@dataclass(frozen=True, slots=True)
class Row:
    """One checked line of a book. Phones are E.164; money integer paisa."""

    line: int
    happened_on: date
    vendor_phone: str
    retailer_phone: str
    retailer_name: str
    kind: Kind
    amount_paisa: int
    reference: str
    due_on: date | None   # a sale's, as given (None: the retailer's credit terms)
    method: str | None    # a payment's (cash when left empty)


class KhataFormatError(ValueError):
    """The header is unusable: nothing after it can be read."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


@dataclass
class Reader:
    """Reads rows from lines of text; problems are collected, not raised (`problems`, `errors`)."""

    today: date
    problems: list[Problem] = field(default_factory=list)
    errors: int = 0  # every problem found, past MAX_PROBLEMS too

    def problem(self, line: int, column: str, message: str) -> None:
        self.errors += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(Problem(line, column, message))

    def rows(self, lines: Iterable[str]) -> Iterator[Row]:
        """Each line that is right, in file order; each that is not is a problem instead."""
        reader = csv.reader(iter(lines))
        try:
            header = next(reader)
        except StopIteration:
            raise KhataFormatError([Problem(1, "", "the file is empty")]) from None
        positions = self._header(header)
        count = 0
        for cells in reader:
            line = reader.line_num
            if not any(c.strip() for c in cells):
                continue  # a blank line, as spreadsheets leave at the end
            count += 1
            if count > MAX_ROWS:
                self.problem(line, "", f"more than {MAX_ROWS:,} rows: split the file")
                return
            if len(cells) != len(header):
                self.problem(line, "", f"{len(cells)} cells, the header has {len(header)}")
                continue
            row = self._row(line, {name: cells[i].strip() for name, i in positions.items()})
            if row is not None:
                yield row

    def _header(self, header: list[str]) -> dict[str, int]:
        names = [h.strip().lower().lstrip("\ufeff") for h in header]
        problems = [Problem(1, name or f"#{i + 1}", "unknown column (the columns are "
                            + ", ".join(COLUMNS) + ")")
                    for i, name in enumerate(names) if name not in COLUMNS]
        problems += [Problem(1, name, "column given twice")
                     for name in sorted({n for n in names if names.count(n) > 1})]
        problems += [Problem(1, name, "column missing") for name in REQUIRED if name not in names]
        if problems:
            raise KhataFormatError(problems)
        return {name: i for i, name in enumerate(names)}

    def _row(self, line: int, cell: dict[str, str]) -> Row | None:
        before = self.errors
        for name, text in cell.items():
            if len(text) > MAX_CELL:
                self.problem(line, name, f"longer than {MAX_CELL} characters")
                cell[name] = ""
        happened = self._date(line, "date", cell["date"])
        if happened is not None and happened > self.today:
            self.problem(line, "date", f"{happened} is in the future")
        vendor = self._phone(line, "vendor_phone", cell["vendor_phone"])
        retailer = self._phone(line, "retailer_phone", cell["retailer_phone"])
        if vendor is not None and vendor == retailer:
            self.problem(line, "retailer_phone", "the same phone as the vendor's")
        kind = cell["kind"].lower()
        if kind not in ("sale", "payment"):
            self.problem(line, "kind", f"{cell['kind']!r} is neither sale nor payment")
        amount = paisa(cell["amount"], max_rupees=MAX_RUPEES) if cell["amount"] else None
        if amount is None or amount <= 0:
            self.problem(line, "amount", f"{cell['amount']!r} is not an amount in rupees "
                         "above 0 (up to 2 decimals)")
        reference = " ".join(cell["reference"].split())
        if not reference or len(reference) > MAX_REFERENCE:
            self.problem(line, "reference", f"a bill or receipt number of 1 to {MAX_REFERENCE} "
                         "characters is needed")
        due_text, method_text = cell.get("due_date", ""), cell.get("method", "").lower()
        due = None
        method = None
        if kind == "sale":
            if method_text:
                self.problem(line, "method", "a sale has no payment method")
            if due_text:
                due = self._date(line, "due_date", due_text)
                if due is not None and happened is not None and due < happened:
                    self.problem(line, "due_date", f"{due} is before the sale ({happened})")
        elif kind == "payment":
            if due_text:
                self.problem(line, "due_date", "a payment has no due date")
            method = method_text or "cash"
            if method not in METHODS:
                self.problem(line, "method", f"{method_text!r} is not one of "
                             + ", ".join(METHODS))
        if self.errors > before:
            return None
        assert happened is not None and vendor is not None and retailer is not None
        assert amount is not None
        return Row(line=line, happened_on=happened, vendor_phone=vendor, retailer_phone=retailer,
                   retailer_name=" ".join(cell.get("retailer_name", "").split())[:MAX_NAME],
                   kind="sale" if kind == "sale" else "payment", amount_paisa=amount,
                   reference=reference, due_on=due, method=method)

    def _date(self, line: int, column: str, text: str) -> date | None:
        try:
            if len(text) != 10:
                raise ValueError
            value = date.fromisoformat(text)
        except ValueError:
            self.problem(line, column, f"{text!r} is not a date as YYYY-MM-DD")
            return None
        if value < EARLIEST:
            self.problem(line, column, f"{value} is before {EARLIEST}")
            return None
        return value

    def _phone(self, line: int, column: str, text: str) -> str | None:
        try:
            return normalize_phone(text)
        except PhoneError as exc:
            self.problem(line, column, str(exc))
            return None
