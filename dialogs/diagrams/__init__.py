"""Mermaid state diagrams of each dialog, generated from its state table, with its routing
table (which handler takes which message in which state) beneath.

`python -m dialogs.diagrams` rewrites them; a test fails when one is out of date.
"""

from __future__ import annotations

from pathlib import Path

from dialogs.machine import Table
from dialogs.routing import Dialog, table_rows

DIR = Path(__file__).parent


def dialogs() -> list[Dialog]:
    from dialogs import admin, registration, retailer, vendor

    return [registration.DIALOG, retailer.DIALOG, vendor.DIALOG, admin.DIALOG]


def tables() -> list[Table]:
    return [d.table for d in dialogs()]


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render(dialog: Dialog) -> str:
    table = dialog.table
    notes = "\n".join(
        f"- `{step.trigger}`: {step.doc}" for step in table.steps if step.doc
    )
    routes = "\n".join(f"| {_cell(states)} | {_cell(message)} | {_cell(what)} |"
                       for states, message, what in table_rows(dialog))
    source = f"dialogs/{table.name}" + ("/__init__.py" if (DIR.parent / table.name).is_dir()
                                        else ".py")
    return (
        f"# The {table.name} dialog\n\n"
        f"{table.doc}\n\n"
        f"Generated from `{source}` (`TABLE` and `DIALOG`) by `python -m dialogs.diagrams`; "
        "a test checks it is current. Help and cancel work in every state.\n\n"
        f"```mermaid\n{table.mermaid()}```\n\n"
        f"{notes}\n\n"
        "## Who takes a message\n\n"
        "Tried top to bottom; the first that fits takes it (commands, then the fallbacks every "
        "dialog shares, then what the state expects).\n\n"
        "| state | message | what happens |\n| --- | --- | --- |\n"
        f"{routes}\n"
    )


def path(dialog: Dialog) -> Path:
    return DIR / f"{dialog.table.name}.md"


def stale() -> list[str]:
    """Names of the diagrams that differ from their tables."""
    return [d.name for d in dialogs()
            if not path(d).exists() or path(d).read_text("utf-8") != render(d)]


def write() -> list[str]:
    written = []
    for dialog in dialogs():
        path(dialog).write_text(render(dialog), "utf-8")
        written.append(str(path(dialog)))
    return written
