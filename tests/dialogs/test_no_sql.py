"""Dialogs hold no SQL: every read and write they trigger goes through a service in ledger/."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.conftest import ROOT

DB_CALLS = frozenset({"execute", "executemany", "fetch", "fetchrow", "fetchval", "cursor",
                      "prepare", "copy_records_to_table", "copy_from_query", "copy_to_table",
                      "copy_from_table", "add_listener"})
SQL = re.compile(r"\b(SELECT\s.+\sFROM|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|"
                 r"CREATE\s+TABLE|TRUNCATE)\b", re.IGNORECASE | re.DOTALL)


def database_uses(source: str) -> list[str]:
    """Each place a module calls a database method or spells SQL, as "line: what"."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in DB_CALLS):
            found.append(f"{node.lineno}: .{node.func.attr}()")
        if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                and SQL.search(node.value)):
            found.append(f"{node.lineno}: SQL text")
    return found


def test_the_check_finds_sql_and_database_calls():
    sample = 'async def f(conn):\n    await conn.fetchval("SELECT 1 FROM users")\n'
    assert database_uses(sample) == ["2: .fetchval()", "2: SQL text"]
    assert database_uses('x = "select what you like from the list"') == ["1: SQL text"]
    assert database_uses("async def f(turn):\n    await orders.get(turn.conn, 1)\n") == []


def test_no_module_under_dialogs_talks_to_the_database():
    offenders = {
        str(path.relative_to(ROOT)): uses
        for path in sorted(Path(ROOT, "dialogs").rglob("*.py"))
        if (uses := database_uses(path.read_text("utf-8")))
    }
    assert offenders == {}
