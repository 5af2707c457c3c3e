"""The message templates of both languages: the same set, valid, and no line glued to the next."""

from __future__ import annotations

import re

import jinja2
import pytest

from locales.render import LOCALES_DIR, Messages

# trim_blocks eats the new line after a block tag; after text on the same line that would glue
# this line to the next, so such a tag must keep its new line with `+%}`.
_ENDS_IN_TAG = re.compile(r"\{%-?\s*(endif|endfor|else)\s*-?%\}\s*$")
_TAG = re.compile(r"\{%.*?%\}")


def _templates(lang: str) -> set[str]:
    return {p.name for p in (LOCALES_DIR / lang / "messages").glob("*.j2")}


def test_both_languages_have_the_same_templates():
    assert _templates("en") == _templates("ne")


@pytest.mark.parametrize("lang", ["en", "ne"])
def test_every_template_compiles_and_keeps_its_line_breaks(lang):
    messages = Messages()
    env = messages._envs[lang]  # noqa: SLF001 - the environment the bot renders with
    for name in sorted(_templates(lang)):
        source = (LOCALES_DIR / lang / "messages" / name).read_text("utf-8")
        try:
            env.parse(source)
        except jinja2.TemplateSyntaxError as exc:  # pragma: no cover - the failure message
            pytest.fail(f"{lang}/{name}: {exc}")
        for number, line in enumerate(source.splitlines(), 1):
            glued = _ENDS_IN_TAG.search(line) and _TAG.sub("", line).strip()
            assert not glued, f"{lang}/{name}:{number}: {line}"


def test_a_line_ending_in_a_condition_keeps_its_line_break():
    from datetime import UTC, datetime
    from types import SimpleNamespace

    vendor = SimpleNamespace(vendor_name="Karnali", balance_paisa=677060, overdue_paisa=0)
    balances = SimpleNamespace(vendors=[vendor], total_paisa=677060, overdue_paisa=0,
                               next_due_at=datetime(2026, 12, 25, tzinfo=UTC))
    position = SimpleNamespace(available_paisa=9322940, limit_paisa=10000000, unbilled_paisa=0)
    text = Messages().render("en", "dues", balances=balances, position=position)
    assert "Karnali: Rs 6,770.60\nTotal: Rs 6,770.60\nNext due:" in text
