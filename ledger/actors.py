"""Who is acting on the ledger, and the role checks every service shares."""

from __future__ import annotations

from typing import Protocol

from ledger.errors import NotPermitted, ReasonRequired

STAFF = frozenset({"ADMIN", "OPERATOR"})

# Reasons end up in audit rows and WhatsApp messages; a bound keeps both readable.
MAX_REASON = 500


class Actor(Protocol):
    """Anything with an id and a role; `ledger.users.User` fits."""

    @property
    def id(self) -> int: ...

    @property
    def role(self) -> str: ...


def is_staff(actor: Actor | None) -> bool:
    return actor is not None and actor.role in STAFF


def require_role(actor: Actor, action: str, *roles: str) -> None:
    if actor.role not in roles:
        raise NotPermitted(action=action, role=actor.role)


def clean_reason(reason: str, action: str) -> str:
    """A reason is required for corrections and overrides; trimmed and bounded."""
    text = " ".join(reason.split())[:MAX_REASON]
    if not text:
        raise ReasonRequired(action=action)
    return text
