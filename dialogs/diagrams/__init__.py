"""Mermaid state diagrams of each dialog, generated from its state table.

`python -m dialogs.diagrams` rewrites them; a test fails when one is out of date.
"""

from __future__ import annotations

from pathlib import Path

from dialogs.machine import Table

DIR = Path(__file__).parent


def tables() -> list[Table]:
    from dialogs import admin, registration, retailer, vendor

    return [registration.TABLE, retailer.TABLE, vendor.TABLE, admin.TABLE]


def render(table: Table) -> str:
    notes = "\n".join(
        f"- `{step.trigger}`: {step.doc}" for step in table.steps if step.doc
    )
    return (
        f"# The {table.name} dialog\n\n"
        f"{table.doc}\n\n"
        f"Generated from `dialogs/{table.name}.py` (`TABLE`) by `python -m dialogs.diagrams`; "
        "a test checks it is current. Help and cancel work in every state.\n\n"
        f"```mermaid\n{table.mermaid()}```\n\n"
        f"{notes}\n"
    )


def path(table: Table) -> Path:
    return DIR / f"{table.name}.md"


def stale() -> list[str]:
    """Names of the diagrams that differ from their tables."""
    return [t.name for t in tables()
            if not path(t).exists() or path(t).read_text("utf-8") != render(t)]


def write() -> list[str]:
    written = []
    for table in tables():
        path(table).write_text(render(table), "utf-8")
        written.append(str(path(table)))
    return written
