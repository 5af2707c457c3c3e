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
    callback_data: str | None = None  # our biz_opaque_callback_data, echoed by Meta


class PayloadError(ValueError):
    pass


def _timestamp(raw: Any) -> datetime:
    try:
        return datetime.fromtimestamp(int(raw), UTC)
    except (TypeError, ValueError, OverflowError):
        return datetime.now(UTC)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any, limit: int = 256) -> str | None:
    """A non-empty string field, cut to `limit`; anything else is absent."""
    return value[:limit] if isinstance(value, str) and value else None


def read_webhook(payload: Any) -> tuple[list[Inbound], list[StatusUpdate]]:
    """Walk every entry and change; skip what we do not understand, never raise on odd fields."""
    if not isinstance(payload, dict) or not isinstance(payload.get("entry"), list):
        raise PayloadError("expected an object with an 'entry' list")
    messages: list[Inbound] = []
    statuses: list[StatusUpdate] = []
    for entry in payload["entry"]:
        for change in _list(_dict(entry).get("changes")):
            value = _dict(_dict(change).get("value"))
            contacts = [_without_nul(c) for c in _list(value.get("contacts"))
                        if isinstance(c, dict)]
            for raw in _list(value.get("messages")):
                message = _message(raw, contacts)
                if message:
                    messages.append(message)
            for raw in _list(value.get("statuses")):
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
    raw = _without_nul(raw)
    wamid = _text(_dict(raw).get("id"))
    if wamid is None:
        return None
    wa_id = _text(raw.get("from"), 32)
    user_id = _text(raw.get("from_user_id"))
    contact = next(
        (c for c in contacts if (wa_id and c.get("wa_id") == wa_id)
         or (user_id and c.get("user_id") == user_id)),
        contacts[0] if len(contacts) == 1 else {},
    )
    user_id = user_id or _text(contact.get("user_id"))
    if not wa_id and not user_id:
        return None
    return Inbound(
        wamid=wamid,
        wa_id=wa_id,
        wa_user_id=user_id,
        profile_name=_text(_dict(contact.get("profile")).get("name"), 120),
        kind=_text(raw.get("type"), 32) or "unknown",
        body=raw,
        sent_at=_timestamp(raw.get("timestamp")),
    )


def _status(raw: Any) -> StatusUpdate | None:
    raw = _dict(raw)
    wamid, status = _text(raw.get("id")), raw.get("status")
    if wamid is None or not isinstance(status, str) or status not in STATUS_RANK:
        return None
    errors = _list(raw.get("errors"))
    first = _dict(errors[0]) if errors else {}
    code = first.get("code")
    return StatusUpdate(
        wamid=wamid,
        status=status,
        recipient=_text(raw.get("recipient_id")) or _text(raw.get("recipient_user_id")),
        error_code=code if isinstance(code, int) and not isinstance(code, bool) else None,
        error_title=_text(first.get("title")),
        callback_data=_text(raw.get("biz_opaque_callback_data"), 512),
    )


@dataclass(frozen=True)
class UserInput:
    """What the dialogs see of a message: the text, or the id of a tapped button / list row."""

    text: str
    choice_id: str | None
    supported: bool


def user_input(kind: str, body: dict[str, Any]) -> UserInput:
    if kind == "text":
        text = _dict(body.get("text")).get("body")
        return UserInput(text=text[:MAX_TEXT] if isinstance(text, str) else "",
                         choice_id=None, supported=True)
    if kind == "interactive":
        interactive = _dict(body.get("interactive"))
        reply = _dict(interactive.get("button_reply")) or _dict(interactive.get("list_reply"))
        return UserInput(text=_text(reply.get("title"), 100) or "",
                         choice_id=_text(reply.get("id")), supported=bool(reply))
    if kind == "button":  # a quick-reply button of a template message
        button = _dict(body.get("button"))
        return UserInput(text=_text(button.get("text"), 100) or "",
                         choice_id=_text(button.get("payload")), supported=True)
    return UserInput(text="", choice_id=None, supported=False)
