"""The parser benchmark runs and reports its figures (on a small catalog, to stay quick)."""

from __future__ import annotations

from pathlib import Path

from bench.parser_bench import main, synthetic_catalog
from catalog.csvload import load_catalog


def test_synthetic_catalog_is_valid_and_keeps_the_demo_products(tmp_path: Path) -> None:
    path = tmp_path / "catalog.csv"
    synthetic_catalog(path, 300)
    products = load_catalog(path)
    assert len(products) == 300 and len({p.sku for p in products}) == 300
    assert products[0].sku == "RICE-MANSULI"


def test_benchmark_returns_figures_and_writes_json(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    figures = main(["--products", "200", "--json", str(out)])
    assert figures["products"] == 200 and figures["median_item_ms"] > 0
    assert out.read_text(encoding="utf-8").startswith("{")
