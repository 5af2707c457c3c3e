"""Reading and validating the catalog CSV; a bad file yields every problem at once, never a catalog.

Format, one product a line after the header:
`sku,name_en,name_ne,aliases,category,unit,packs,price_npr`, where aliases are separated by
"|", packs read `bora=25|bag=25` (one bora holds 25 base units) and the price is per base unit.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from catalog.model import Product
from catalog.quantity import Vocabulary
from locales.numbers import ascii_digits, paisa

DEMO_CATALOG = Path(__file__).parent / "data" / "catalog.csv"
HEADER = ("sku", "name_en", "name_ne", "aliases", "category", "unit", "packs", "price_npr")

# Limits, so a wrong or hostile file fails fast instead of filling memory.
MAX_PRODUCTS = 100_000
MAX_FIELD_CHARS = 2_000
MAX_ALIASES = 50
MAX_PROBLEMS = 200
MAX_PRICE_NPR = 10_000_000
MAX_PACK_SIZE = Decimal(100_000)

_SKU = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,63}$")
# A file's prices are plain decimals ("82.00", "८२"): no grouping commas or currency, as chat has.
_PRICE = re.compile(r"[0-9]{1,9}(?:\.[0-9]{1,2})?")

# Records a problem in a field of the line being read.
_Reporter = Callable[[str, str], None]


@dataclass(frozen=True, slots=True)
class CatalogProblem:
    """One thing wrong in the file, where it is: line 1 is the header."""

    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}, field {self.field}: {self.message}"


class CatalogFormatError(ValueError):
    """The catalog file is not valid; `problems` lists everything found, in file order."""

    def __init__(self, problems: Iterable[CatalogProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__("invalid catalog:\n" + "\n".join(str(p) for p in self.problems))


def load_catalog(
    path: Path | str | None = None,
    units: Collection[str] | None = None,
) -> list[Product]:
    """Read and validate a catalog file (the demo catalog by default).

    `units` are the allowed base and pack units (by default those of units.csv). Raises
    CatalogFormatError naming every bad line and field; nothing is returned from a bad file.
    """
    if units is None:
        units = Vocabulary.from_csv().unit_kinds.keys()
    with open(path or DEMO_CATALOG, encoding="utf-8-sig", newline="") as f:
        return parse_catalog(f, units)


def parse_catalog(lines: Iterable[str], units: Collection[str]) -> list[Product]:
    """Validate catalog CSV text given as lines; see `load_catalog`."""
    problems: list[CatalogProblem] = []
    products: list[Product] = []
    seen: dict[str, int] = {}
    csv.field_size_limit(MAX_FIELD_CHARS * 4)
    reader = csv.reader(lines)
    try:
        header = next(reader, None)
        if header is None or tuple(h.strip() for h in header) != HEADER:
            raise CatalogFormatError([CatalogProblem(1, "header", f"expected {','.join(HEADER)}")])
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(products) + len(problems) >= MAX_PRODUCTS:
                problems.append(CatalogProblem(line, "sku", f"more than {MAX_PRODUCTS} products"))
                break
            product = _product(row, line, units, seen, problems)
            if product is not None:
                products.append(product)
            if len(problems) >= MAX_PROBLEMS:
                break
    except csv.Error as error:
        problems.append(CatalogProblem(reader.line_num, "row", f"unreadable CSV: {error}"))
    except UnicodeDecodeError as error:
        problems.append(CatalogProblem(reader.line_num + 1, "row", f"not UTF-8: {error.reason}"))
    if problems:
        raise CatalogFormatError(problems)
    if not products:
        raise CatalogFormatError([CatalogProblem(2, "sku", "the catalog has no products")])
    return products


def _product(
    row: list[str],
    line: int,
    units: Collection[str],
    seen: dict[str, int],
    problems: list[CatalogProblem],
) -> Product | None:
    """One validated product, or None after adding what is wrong with the row to `problems`."""
    if len(row) != len(HEADER):
        problems.append(CatalogProblem(line, "row", f"{len(row)} fields, expected {len(HEADER)}"))
        return None
    found: list[CatalogProblem] = []

    def bad(field: str, message: str) -> None:
        found.append(CatalogProblem(line, field, message))

    cells = dict(zip(HEADER, (cell.strip() for cell in row), strict=True))
    for name, value in cells.items():
        if len(value) > MAX_FIELD_CHARS:
            bad(name, f"longer than {MAX_FIELD_CHARS} characters")
    sku = cells["sku"]
    if not _SKU.match(sku):
        bad("sku", f"{sku!r} is not an upper-case code like RICE-MANSULI")
    elif sku in seen:
        bad("sku", f"{sku} already used on line {seen[sku]}")
    else:
        seen[sku] = line
    for name in ("name_en", "name_ne", "category"):
        if not cells[name]:
            bad(name, "is empty")
    aliases = tuple(a.strip() for a in cells["aliases"].split("|") if a.strip())
    if len(aliases) > MAX_ALIASES:
        bad("aliases", f"more than {MAX_ALIASES} aliases")
    unit = cells["unit"]
    if unit not in units:
        bad("unit", f"{unit!r} is not a unit of units.csv")
    packs = _packs(cells["packs"], unit, units, bad)
    price_paisa = _price_paisa(cells["price_npr"], bad)
    problems.extend(found)
    if found:
        return None
    return Product(
        sku=sku,
        name_en=cells["name_en"],
        name_ne=cells["name_ne"],
        aliases=aliases,
        category=cells["category"],
        unit=unit,
        packs=packs,
        price_paisa=price_paisa,
    )


def _packs(text: str, unit: str, units: Collection[str], bad: _Reporter) -> dict[str, Decimal]:
    packs: dict[str, Decimal] = {}
    for part in filter(None, (p.strip() for p in text.split("|"))):
        name, sep, size_text = (s.strip() for s in part.partition("="))
        if not sep or not name:
            bad("packs", f"{part!r} is not like bora=25")
            continue
        if name not in units:
            bad("packs", f"{name!r} is not a unit of units.csv")
        elif name == unit:
            bad("packs", f"{name!r} is the base unit itself")
        elif name in packs:
            bad("packs", f"{name!r} given twice")
        try:
            size = Decimal(size_text)
        except InvalidOperation:
            bad("packs", f"{size_text!r} in {part!r} is not a number")
            continue
        if not size.is_finite() or not Decimal(0) < size <= MAX_PACK_SIZE:
            bad("packs", f"size in {part!r} must be above 0 and at most {MAX_PACK_SIZE}")
            continue
        packs[name] = size
    return packs


def _price_paisa(text: str, bad: _Reporter) -> int:
    if not _PRICE.fullmatch(ascii_digits(text)):
        bad("price_npr", f"{text!r} is not a price like 82.00")
        return 0
    price = paisa(text, max_rupees=MAX_PRICE_NPR)
    if not price:  # 0, or None: above the bound
        bad("price_npr", f"{text} must be above 0 and at most {MAX_PRICE_NPR}")
        return 0
    return price
