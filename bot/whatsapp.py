"""The shapes Meta's Cloud API sends to the webhook, read leniently and item by item: unknown
fields are kept, and one item that cannot be read is set aside without losing the others."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot import safejson

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


@dataclass(frozen=True)
class Quarantined:
    """Something signed by Meta that we could not read, kept exactly as it came (as bytes: it may
    hold what PostgreSQL text cannot) with the reason, for operators to look at."""

    kind: str  # "body" (the whole POST), "message" or "status"
    reason: str
    raw: bytes


@dataclass(frozen=True)
class Reading:
    """A webhook body read item by item: what can be handled, and what was set aside."""

    messages: list[Inbound] = field(default_factory=list)
    statuses: list[StatusUpdate] = field(default_factory=list)
    quarantined: list[Quarantined] = field(default_factory=list)


class PayloadError(ValueError):
    pass


MAX_DEPTH = 64  # Meta's payloads nest about 10 deep; deeper parts are cut out by the parser
MAX_ID = 256
_PHONE_ID = re.compile(r"^[1-9][0-9]{7,14}$")  # a wa_id: E.164 digits, as users.phone expects
_SURROGATE = re.compile("[\ud800-\udfff]")
_INT32 = range(-(2**31), 2**31)


def read_body(body: bytes) -> Reading:
    """Read a signed webhook body; never raises: what cannot be read is quarantined raw."""
    try:
        parsed = safejson.loads(body, max_depth=MAX_DEPTH)
        reading = read_webhook(parsed.value, parsed.cuts)
    except (safejson.Unreadable, PayloadError) as exc:
        return Reading(quarantined=[Quarantined("body", str(exc), body)])
    return reading


def read_webhook(payload: Any, cuts: Mapping[str, safejson.Cut] | None = None) -> Reading:
    """Walk every entry and change, item by item: an item that cannot be read is quarantined with
    the reason and the others are kept; fields we do not use may be anything.

    `cuts` are the parts the JSON parser took out (too deep, numbers out of range): an item that
    holds one is quarantined. Raises PayloadError only when the whole body has the wrong shape.
    """
    if not isinstance(payload, dict) or not isinstance(payload.get("entry"), list):
        raise PayloadError("expected an object with an 'entry' list")
    cuts = cuts or {}
    reading = Reading()
    seen: set[str] = set()  # markers inside quarantined items: those parts are kept with them
    for entry in payload["entry"]:
        for change in _list(_dict(entry).get("changes")):
            value = _dict(_dict(change).get("value"))
            contacts = [c for c in _list(value.get("contacts")) if isinstance(c, dict)]
            for raw in _list(value.get("messages")):
                try:
                    reading.messages.append(_message(raw, contacts, cuts))
                except _Unreadable as exc:
                    _set_aside(reading, "message", raw, str(exc), cuts, seen)
            for raw in _list(value.get("statuses")):
                try:
                    status = _status(raw, cuts)
                except _Unreadable as exc:
                    _set_aside(reading, "status", raw, str(exc), cuts, seen)
                    continue
                if status is not None:
                    reading.statuses.append(status)
    if set(cuts) - seen:
        # Something unreadable sat outside every item: keep the whole body's worth of it.
        reading.quarantined.append(Quarantined(
            "body", "unreadable parts outside any message or status: "
            + "; ".join(sorted({cuts[m].reason for m in set(cuts) - seen})),
            _raw(payload, cuts)))
    return reading


class _Unreadable(Exception):
    """One item cannot be read; the message is the reason kept with it."""


def _set_aside(
    reading: Reading, kind: str, raw: Any, reason: str, cuts: Mapping[str, safejson.Cut],
    seen: set[str],
) -> None:
    reading.quarantined.append(Quarantined(kind, reason, _raw(raw, cuts)))
    seen.update(_markers(raw, cuts))


def _raw(value: Any, cuts: Mapping[str, safejson.Cut]) -> bytes:
    """The item as JSON text with escapes (storable whatever it holds), cut parts put back."""
    text = json.dumps(value, ensure_ascii=True)
    for marker in _markers(value, cuts):
        text = text.replace(f'"{marker}"', cuts[marker].raw)
    return text.encode("utf-8")  # the cut parts come from a strictly decoded body: encodable


def _strings(value: Any) -> Iterator[tuple[str, bool]]:
    """Every string in `value` (keys too, flagged False), without recursion."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item, True
        elif isinstance(item, dict):
            for key, inner in item.items():
                yield key, False
                stack.append(inner)
        elif isinstance(item, list):
            stack.extend(item)


def _markers(value: Any, cuts: Mapping[str, safejson.Cut]) -> list[str]:
    return [s for s, is_value in _strings(value) if is_value and s in cuts] if cuts else []


def _check_storable(value: Any, cuts: Mapping[str, safejson.Cut], what: str) -> None:
    """PostgreSQL cannot store lone surrogates; cut-out parts are unreadable by definition."""
    for text, is_value in _strings(value):
        if is_value and text in cuts:
            raise _Unreadable(f"{what}: {cuts[text].reason}")
        if _SURROGATE.search(text):
            raise _Unreadable(f"{what}: a lone surrogate (not a character) in a "
                              + ("value" if is_value else "key"))


def _id(value: Any) -> str | None:
    """An identifier exactly as sent, or None: ids are never cut or cleaned (that would make a
    different id), so one with a NUL, a control character or over 256 characters is unreadable."""
    if isinstance(value, str) and 0 < len(value) <= MAX_ID and value.isprintable():
        return value
    return None
def _timestamp(raw: Any) -> datetime:
    try:
        return datetime.fromtimestamp(int(raw), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return datetime.now(UTC)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any, limit: int = 256) -> str | None:
    """A non-empty string field, cut to `limit`; anything else is absent."""
    return value[:limit] if isinstance(value, str) and value else None


def _without_nul(value: Any) -> Any:
    """PostgreSQL text cannot hold U+0000; a message carrying one in its words is still stored."""
    stack: list[Any] = []
    clean = _shallow_without_nul(value, stack)
    while stack:  # without recursion: the parser bounds depth, this does not rely on it
        container = stack.pop()
        if isinstance(container, dict):
            items = list(container.items())
            container.clear()
            for key, inner in items:
                container[key.replace("\x00", "")] = _shallow_without_nul(inner, stack)
        else:
            container[:] = [_shallow_without_nul(inner, stack) for inner in container]
    return clean


def _shallow_without_nul(value: Any, stack: list[Any]) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict | list):
        copy: Any = dict(value) if isinstance(value, dict) else list(value)
        stack.append(copy)
        return copy
    return value


def _message(
    raw: Any, contacts: list[dict[str, Any]], cuts: Mapping[str, safejson.Cut]
) -> Inbound:
    if not isinstance(raw, dict):
        raise _Unreadable("message: not an object")
    _check_storable(raw, cuts, "message")
    wamid = _id(raw.get("id"))
    if wamid is None:
        raise _Unreadable("message: id missing or unreadable")
    wa_id = raw.get("from")
    if wa_id is not None and not (isinstance(wa_id, str) and _PHONE_ID.match(wa_id)):
        # Refused here, once: stored, it would fail against the users table's phone check.
        raise _Unreadable("message: sender 'from' is not a phone number")
    user_id = raw.get("from_user_id")
    if user_id is not None and _id(user_id) is None:
        raise _Unreadable("message: sender 'from_user_id' unreadable")
    contact = next(
        (c for c in contacts if (wa_id and c.get("wa_id") == wa_id)
         or (user_id and c.get("user_id") == user_id)),
        contacts[0] if len(contacts) == 1 else {},
    )
    _check_storable(contact, cuts, "message's contact")
    user_id = user_id or _id(contact.get("user_id"))
    if not wa_id and not user_id:
        raise _Unreadable("message: no sender")
    clean = _without_nul(raw)
    return Inbound(
        wamid=wamid,
        wa_id=wa_id,
        wa_user_id=user_id,
        profile_name=_text(_without_nul(_dict(contact.get("profile")).get("name")), 120),
        kind=_text(clean.get("type"), 32) or "unknown",
        body=clean,
        sent_at=_timestamp(raw.get("timestamp")),
    )


def _status(raw: Any, cuts: Mapping[str, safejson.Cut]) -> StatusUpdate | None:
    if not isinstance(raw, dict):
        raise _Unreadable("status: not an object")
    _check_storable(raw, cuts, "status")
    wamid, status = _id(raw.get("id")), raw.get("status")
    if wamid is None:
        raise _Unreadable("status: id missing or unreadable")
    if not isinstance(status, str):
        raise _Unreadable("status: no status")
    if status not in STATUS_RANK:
        return None  # a status we do not track (Meta adds some): nothing to store
    recipient = raw.get("recipient_id") or raw.get("recipient_user_id")
    if recipient is not None and _id(recipient) is None:
        raise _Unreadable("status: recipient unreadable")
    errors = _list(raw.get("errors"))
    first = _dict(errors[0]) if errors else {}
    code = first.get("code")
    return StatusUpdate(
        wamid=wamid,
        status=status,
        recipient=recipient,
        error_code=code if isinstance(code, int) and not isinstance(code, bool)
        and code in _INT32 else None,
        error_title=_text(_without_nul(first.get("title"))),
        callback_data=_text(raw.get("biz_opaque_callback_data"), 512),
    )


@dataclass(frozen=True)
class UserInput:
    """What the dialogs see of a message: the text, or the id of a tapped button / list row; a
    photo's caption is its text (a receipt: "tiriye 5000 esewa"), with the photo's media id."""

    text: str
    choice_id: str | None
    supported: bool
    media_id: str | None = None


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
    if kind in ("image", "document"):  # only its caption can be read
        media = _dict(body.get(kind))
        caption = _text(media.get("caption"), MAX_TEXT)
        return UserInput(text=caption or "", choice_id=None, supported=caption is not None,
                         media_id=_id(media.get("id")))
    return UserInput(text="", choice_id=None, supported=False)
