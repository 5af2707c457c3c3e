"""The one scheme of button and list-row ids: `kind:action:<public id>`, built and read here only.

Public ids are what a person could read: an order's number ("KH-000123"), a product's sku, a
user's phone ("+9779812345678", or the business-scoped id of a number-less user), a language
code. WhatsApp echoes the id of a tapped button verbatim, so ids of messages sent before a change
of scheme still arrive; `parse` reads those older forms too.
"""

from __future__ import annotations

from dataclasses import dataclass

from locales.replies import Button, Row

# At most 256 characters is WhatsApp's bound on a reply id.
MAX_ID = 256


@dataclass(frozen=True)
class Tap:
    kind: str    # order, product, user, lang
    action: str  # confirm, edit, cancel, accept, reject, dispatch, deliver, pick, approve, …
    ref: str     # the public id it acts on


def make(kind: str, action: str, ref: str) -> str:
    assert ":" not in kind and ":" not in action, (kind, action)
    return f"{kind}:{action}:{ref}"[:MAX_ID]


def button(kind: str, action: str, ref: str, title: str) -> Button:
    return Button(make(kind, action, ref), title)


def row(kind: str, action: str, ref: str, title: str, description: str = "") -> Row:
    return Row(make(kind, action, ref), title, description)


# Kinds of ids written before this scheme, and the kind each is now.
_LEGACY = {
    "vendor": "order",        # vendor:accept:KH-000123 → order:accept:KH-000123
    "reg": "user",            # reg:approve:<user row id> → user:approve:<user row id>
}


def parse(choice_id: str) -> Tap | None:
    """The tap a reply id stands for, or None when it is not one of ours."""
    parts = choice_id.strip().split(":")
    if parts[0] == "pick" and len(parts) >= 2:  # pick:<sku> and pick:<word>:<sku>
        return Tap("product", "pick", parts[-1])
    if parts[0] == "lang" and len(parts) == 2:  # lang:ne
        return Tap("lang", "set", parts[1])
    if len(parts) < 3 or not all(parts[:2]):
        return None
    kind, action, ref = parts[0], parts[1], ":".join(parts[2:])
    return Tap(_LEGACY.get(kind, kind), action, ref)
