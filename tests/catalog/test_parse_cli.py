"""The `khaacho parse` JSON-lines contract."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from catalog.parse_cli import MAX_LINE_CHARS, run_parse


def run(lines: list[str], catalog: str | None = None) -> tuple[int, list[dict[str, Any]]]:
    stdout = io.StringIO()
    code = run_parse(io.StringIO("".join(line + "\n" for line in lines)), stdout, catalog)
    return code, [json.loads(line) for line in stdout.getvalue().splitlines()]


def test_one_answer_per_message_in_order_with_base_unit_quantities() -> None:
    code, answers = run(
        [
            json.dumps({"id": "a", "text": "chini 1 bora, lifbuoy 1 dozen"}),
            json.dumps({"id": 2, "text": "चामल २ बोरा"}),
            json.dumps({"id": "c", "text": "baki kati cha?"}),
        ]
    )
    assert code == 0
    assert answers[0] == {
        "id": "a",
        "intent": "order",
        "items": [
            {"sku": "SUGAR", "quantity": 50, "unit": "kg", "matched": "exact:chini"},
            {"sku": "SOAP-LIFEBUOY", "quantity": 12, "unit": "piece", "matched": "fuzzy:lifebuoy"},
        ],
        "ambiguous": [],
        "unknown": [],
    }
    assert answers[1]["id"] == 2
    [ambiguity] = answers[1]["ambiguous"]
    assert ambiguity["quantity"] == 2 and ambiguity["unit"] == "bora"
    assert "RICE-MANSULI" in ambiguity["candidates"]
    assert answers[2]["intent"] == "dues"


def test_decimal_quantity_is_a_json_number() -> None:
    _, [answer] = run([json.dumps({"id": 1, "text": "dedh kg ghee"})])
    assert answer["items"] == [
        {"sku": "GHEE", "quantity": 1.5, "unit": "kg", "matched": "exact:ghee"}
    ]


def test_malformed_lines_get_an_error_answer_not_a_crash() -> None:
    code, answers = run(
        [
            "not json",
            "[1, 2]",
            json.dumps({"id": 7}),
            json.dumps({"id": {"x": 1}, "text": "chini"}),
            "{" * 100_000,
            json.dumps({"id": 8, "text": "chini 2 kg"}),
        ]
    )
    assert code == 0
    assert [a["intent"] for a in answers] == ["other"] * 5 + ["order"]
    assert all("error" in a for a in answers[:5]) and "error" not in answers[5]
    assert answers[2]["id"] == 7


def test_overlong_line_is_answered_and_the_next_line_still_read() -> None:
    long_line = json.dumps({"id": 1, "text": "x" * (MAX_LINE_CHARS * 2)})
    _, answers = run([long_line, json.dumps({"id": 2, "text": "chini 2 kg"})])
    assert "error" in answers[0] and answers[1]["id"] == 2


def test_blank_lines_are_skipped() -> None:
    _, answers = run(["", json.dumps({"id": 1, "text": "help"}), "  "])
    assert [a["intent"] for a in answers] == ["help"]


def test_custom_catalog_is_used(tmp_path: Path) -> None:
    path = tmp_path / "catalog.csv"
    path.write_text(
        "sku,name_en,name_ne,aliases,category,unit,packs,price_npr\n"
        "MOMO,Frozen Momo,मम,momo|mamacha,frozen,packet,carton=20,250\n",
        encoding="utf-8",
    )
    _, [answer] = run([json.dumps({"id": 1, "text": "momo 2 carton"})], str(path))
    assert answer["items"] == [
        {"sku": "MOMO", "quantity": 40, "unit": "packet", "matched": "exact:momo"}
    ]


def test_bad_catalog_exits_with_an_error(tmp_path: Path) -> None:
    path = tmp_path / "catalog.csv"
    path.write_text("sku,name\nA,B\n", encoding="utf-8")
    code, answers = run([json.dumps({"id": 1, "text": "chini"})], str(path))
    assert code == 2 and answers == []
