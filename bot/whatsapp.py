"""The shapes Meta's Cloud API sends to the webhook, read leniently: unknown fields are kept."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

STATUS_RANK = {"sent": 1, "delivered": 2, "read": 3, "failed": 4}
MAX_TEXT = 4096  # WhatsApp's own limit on a text body


@dataclass(frozen=True)
class Inbound:
    """One message a user sent us."""

    wamid: str
    wa_id: str | None
    wa_user_id: str | None
    profile_name: str | None
    kind: str
    body: dict[str, Any]
    sent_at: datetime

    @property
    def sender(self) -> str:
        """The address we answer: the phone-based wa_id, else the business-scoped user id."""
        return self.wa_id or self.wa_user_id or ""


@dataclass(frozen=True)
class StatusUpdate:
    wamid: str
    status: str
    recipient: str | None
    error_code: int | None
    error_title: str | None


class PayloadError(ValueError):
    pass


def _timestamp(raw: Any) -> datetime:
    try:
        return datetime.fromtimestamp(int(raw), UTC)
    except (TypeError, ValueError, OverflowError):
        return datetime.now(UTC)


def read_webhook(payload: Any) -> tuple[list[Inbound], list[StatusUpdate]]:
    """Walk every entry and change; skip what we do not understand, never raise on odd fields."""
    if not isinstance(payload, dict) or not isinstance(payload.get("entry"), list):
        raise PayloadError("expected an object with an 'entry' list")
    messages: list[Inbound] = []
    statuses: list[StatusUpdate] = []
    for entry in payload["entry"]:
        changes = entry.get("changes") if isinstance(entry, dict) else None
        for change in changes if isinstance(changes, list) else []:
            value = change.get("value") if isinstance(change, dict) else None
            if not isinstance(value, dict):
                continue
            contacts = [c for c in value.get("contacts") or [] if isinstance(c, dict)]
            for raw in value.get("messages") or []:
                message = _message(raw, contacts)
                if message:
                    messages.append(message)
            for raw in value.get("statuses") or []:
                status = _status(raw)
                if status:
                    statuses.append(status)
    return messages, statuses


def _without_nul(value: Any) -> Any:
    """PostgreSQL text cannot hold U+0000; a message carrying one must still be stored."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    return value


def _message(raw: Any, contacts: list[dict[str, Any]]) -> Inbound | None:
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
        return None
    raw = _without_nul(raw)
    contacts = _without_nul(contacts)
    wa_id = raw.get("from") if isinstance(raw.get("from"), str) else None
    user_id = raw.get("from_user_id") if isinstance(raw.get("from_user_id"), str) else None
    contact = next(
        (c for c in contacts if (wa_id and c.get("wa_id") == wa_id)
         or (user_id and c.get("user_id") == user_id)),
        contacts[0] if len(contacts) == 1 else {},
    )
    user_id = user_id or contact.get("user_id")
    if not wa_id and not user_id:
        return None
    profile = contact.get("profile") if isinstance(contact.get("profile"), dict) else {}
    return Inbound(
        wamid=raw["id"][:256],
        wa_id=wa_id,
        wa_user_id=user_id,
        profile_name=(profile.get("name") or None) if profile else None,
        kind=str(raw.get("type") or "unknown")[:32],
        body=raw,
        sent_at=_timestamp(raw.get("timestamp")),
    )


def _status(raw: Any) -> StatusUpdate | None:
    if not isinstance(raw, dict) or raw.get("status") not in STATUS_RANK:
        return None
    if not isinstance(raw.get("id"), str):
        return None
    errors = raw.get("errors") if isinstance(raw.get("errors"), list) else []
    first = errors[0] if errors and isinstance(errors[0], dict) else {}
    code = first.get("code")
    return StatusUpdate(
        wamid=raw["id"],
        status=raw["status"],
        recipient=raw.get("recipient_id") or raw.get("recipient_user_id"),
        error_code=code if isinstance(code, int) else None,
        error_title=first.get("title"),
    )


@dataclass(frozen=True)
class UserInput:
    """What the dialogs see of a message: the text, or the id of a tapped button / list row."""

    text: str
    choice_id: str | None
    supported: bool


def user_input(kind: str, body: dict[str, Any]) -> UserInput:
    if kind == "text":
        text = (body.get("text") or {}).get("body") or ""
        return UserInput(text=str(text)[:MAX_TEXT], choice_id=None, supported=True)
    if kind == "interactive":
        interactive = body.get("interactive") or {}
        reply = interactive.get("button_reply") or interactive.get("list_reply") or {}
        return UserInput(
            text=str(reply.get("title") or ""), choice_id=reply.get("id"), supported=bool(reply)
        )
    if kind == "button":  # a quick-reply button of a template message
        button = body.get("button") or {}
        return UserInput(
            text=str(button.get("text") or ""), choice_id=button.get("payload"), supported=True
        )
    return UserInput(text="", choice_id=None, supported=False)
