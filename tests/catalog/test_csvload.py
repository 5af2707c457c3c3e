"""Catalog CSV: the demo file loads; a bad file names every bad line and field, loads nothing."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from catalog.csvload import CatalogFormatError, load_catalog, parse_catalog

UNITS = {"kg", "g", "l", "ml", "piece", "packet", "bora", "bag", "carton", "dozen", "jar"}
HEADER = "sku,name_en,name_ne,aliases,category,unit,packs,price_npr"
GOOD = "SUGAR,Sugar,चिनी,chini|cheeni,sugar,kg,bora=50|packet=1,112.00"


def problems(*rows: str) -> list[tuple[int, str]]:
    with pytest.raises(CatalogFormatError) as caught:
        parse_catalog([HEADER + "\n", *(row + "\n" for row in rows)], UNITS)
    return [(p.line, p.field) for p in caught.value.problems]


def test_demo_catalog_loads_with_prices_in_integer_paisa() -> None:
    products = {p.sku: p for p in load_catalog()}
    assert len(products) == 82
    sugar = products["SUGAR"]
    assert sugar.price_paisa == 11200 and isinstance(sugar.price_paisa, int)
    assert sugar.packs == {"bora": Decimal(50), "bag": Decimal(50), "packet": Decimal(1)}
    assert "cheeni" in sugar.aliases and sugar.name_ne == "चिनी"


def test_valid_rows_load() -> None:
    [product] = parse_catalog([HEADER + "\n", GOOD + "\n"], UNITS)
    assert product.sku == "SUGAR" and product.unit == "kg"


def test_every_problem_is_reported_with_its_line_and_field() -> None:
    found = problems(
        GOOD,
        "RICE,Rice,चामल,chamal,rice,sack,bora=25,80",
        "DAL,Dal,दाल,dal,dal,kg,bora=abc|box=2,0",
        "SUGAR,Sugar,चिनी,chini,sugar,kg,,112",
    )
    assert (3, "unit") in found
    assert (4, "packs") in found and (4, "price_npr") in found
    assert (5, "sku") in found


def test_price_must_be_positive_money() -> None:
    assert problems("A,A,ए,a,x,kg,,-5") == [(2, "price_npr")]
    assert problems("A,A,ए,a,x,kg,,1.234") == [(2, "price_npr")]


@pytest.mark.parametrize("packs", ["bora", "bora=0", "bora=25|bora=50", "kg=1", "=5", "tray=30"])
def test_packs_must_be_known_units_with_positive_sizes(packs: str) -> None:
    assert problems(f"A,A,ए,a,x,kg,{packs},10") == [(2, "packs")]


def test_empty_names_and_bad_skus_are_reported() -> None:
    assert sorted(problems("bad sku,,,a,,kg,,10")) == [
        (2, "category"),
        (2, "name_en"),
        (2, "name_ne"),
        (2, "sku"),
    ]


def test_row_with_wrong_number_of_fields_is_reported() -> None:
    assert problems("A,A,ए,a,x,kg,10") == [(2, "row")]


def test_wrong_header_is_reported_on_line_one() -> None:
    with pytest.raises(CatalogFormatError) as caught:
        parse_catalog(["sku,name\n", "A,B\n"], UNITS)
    assert [(p.line, p.field) for p in caught.value.problems] == [(1, "header")]


def test_message_names_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "catalog.csv"
    path.write_text(f"{HEADER}\n{GOOD}\nX,X,एक्स,x,x,kg,,free\n", encoding="utf-8")
    with pytest.raises(CatalogFormatError, match="line 3, field price_npr"):
        load_catalog(path)


def test_file_without_products_is_rejected() -> None:
    with pytest.raises(CatalogFormatError):
        parse_catalog([HEADER + "\n"], UNITS)
