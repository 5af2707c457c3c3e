"""STUB until branch `report` is merged: the bank report as HTML and as a signed PDF."""

from __future__ import annotations

import html as markup
import json
from typing import Any

from locales import Language


def html(content: dict[str, Any], lang: Language, *args: Any, **kwargs: Any) -> str:
    title = "बैंक रिपोर्ट" if lang == "ne" else "Bank report"
    return (f"<section><h1>{title}: {markup.escape(str(content.get('shop')))}</h1>"
            f"<pre>{markup.escape(json.dumps(content, ensure_ascii=False, indent=1))}</pre>"
            "</section>")


def pdf(content: dict[str, Any], lang: Language, messages: Any, key: Any) -> bytes:
    return b"%PDF-1.4\n% stub " + json.dumps(content).encode() + b"\n%%EOF\n"
