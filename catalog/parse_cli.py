"""The `khaacho parse` contract: JSON lines of messages in, one JSON line of meaning out for each.

In: `{"id": ..., "text": ...}` per line. Out, in the same order: `{"id", "intent", "items":
[{"sku", "quantity", "unit", "matched"}], "ambiguous": [{"text", "quantity", "unit",
"candidates", "reason"}], "unknown": [text, ...]}`, quantities of items in the product's base
unit. A "price" question names the products asked about as items and ambiguities. A line that
cannot be read still gets an answer, with intent "other" and an "error".
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from typing import IO, Any

from catalog.csvload import CatalogFormatError
from catalog.model import ParseResult
from catalog.parser import OrderParser

# A WhatsApp message is at most 4096 characters; a JSON line ten times that is not one.
MAX_LINE_CHARS = 65_536


def run_parse(stdin: IO[str], stdout: IO[str], catalog_path: str | None) -> int:
    """Answer every line of `stdin` on `stdout`; 0 when done, 2 when the catalog is bad."""
    try:
        parser = OrderParser.from_csv(catalog_path)
    except (CatalogFormatError, OSError) as error:
        print(f"khaacho parse: cannot load catalog: {error}", file=sys.stderr)
        return 2
    while True:
        line = stdin.readline(MAX_LINE_CHARS + 1)
        if not line:
            return 0
        if len(line) > MAX_LINE_CHARS and not line.endswith("\n"):
            _skip_rest_of_line(stdin)
            answer = _error(None, f"line longer than {MAX_LINE_CHARS} characters")
        elif not line.strip():
            continue
        else:
            answer = _answer(parser, line)
        stdout.write(json.dumps(answer, ensure_ascii=False) + "\n")
        stdout.flush()


def _answer(parser: OrderParser, line: str) -> dict[str, Any]:
    try:
        request = json.loads(line)
    except (ValueError, RecursionError) as error:
        return _error(None, f"not JSON: {error}")
    if not isinstance(request, dict):
        return _error(None, "expected an object with id and text")
    message_id = request.get("id")
    if not isinstance(message_id, str | int | float | None) or isinstance(message_id, bool):
        return _error(None, "id must be a string or a number")
    text = request.get("text")
    if not isinstance(text, str):
        return _error(message_id, "text must be a string")
    return to_json(message_id, parser.parse(text))


def to_json(message_id: str | int | float | None, result: ParseResult) -> dict[str, Any]:
    """The contract's JSON object for one parsed message."""
    return {
        "id": message_id,
        "intent": result.intent,
        "items": [
            {"sku": i.sku, "quantity": _number(i.quantity), "unit": i.unit, "matched": i.matched}
            for i in result.items
        ],
        "ambiguous": [
            {
                "text": a.text,
                "quantity": None if a.quantity is None else _number(a.quantity),
                "unit": a.unit,
                "candidates": list(a.candidates),
                "reason": a.reason,
            }
            for a in result.ambiguous
        ],
        "unknown": list(result.unknown),
    }


def _error(message_id: str | int | float | None, error: str) -> dict[str, Any]:
    answer = to_json(message_id, ParseResult(intent="other"))
    answer["error"] = error
    return answer


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def _skip_rest_of_line(stdin: IO[str]) -> None:
    while True:
        chunk = stdin.readline(MAX_LINE_CHARS)
        if not chunk or chunk.endswith("\n"):
            return
