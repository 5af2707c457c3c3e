"""The channel's tables: inbound messages stored by wamid, delivery statuses, what the webhook
could not read (quarantined), and the outbox."""

from __future__ import annotations

import dataclasses
import json
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg

from bot import quarantine
from bot.graph import OUTSIDE_WINDOW
from bot.whatsapp import STATUS_RANK, Inbound, Quarantined, StatusUpdate

log = logging.getLogger(__name__)

INBOUND_CHANNEL = "khaacho_inbound"
OUTBOX_CHANNEL = "khaacho_outbox"
# A reply was sent or failed for good: the terminal chat and the simulator show it at once.
DELIVERED_CHANNEL = "khaacho_delivered"


@dataclass(frozen=True)
class Stored:
    new: int  # messages not seen before
    quarantined: int  # items newly set aside


# What PostgreSQL (or asyncpg encoding a parameter) says when a value cannot be stored.
_UNSTORABLE = (asyncpg.DataError, asyncpg.IntegrityConstraintViolationError, ValueError,
               OverflowError)

_REFERENCE_PREFIX = "outbox:"
_REFERENCE = re.compile(r"outbox:[1-9][0-9]{0,17}")


async def store_webhook(
    conn: asyncpg.Connection,
    messages: Sequence[Inbound],
    statuses: Sequence[StatusUpdate],
    quarantined: Sequence[Quarantined] = (),
) -> Stored:
    """Store a webhook's messages, statuses and quarantined items in one transaction.

    A redelivered message (same wamid) is ignored; a late status never moves one backwards. An
    item the database refuses after all (the reader should have set it aside) is quarantined
    instead of failing the others: the body is then stored again one item at a time.
    """
    try:
        async with conn.transaction():
            return await _store(conn, messages, statuses, quarantined, each=False)
    except _UNSTORABLE:
        async with conn.transaction():
            return await _store(conn, messages, statuses, quarantined, each=True)


# One webhook body's items: its messages, statuses and what could not be read.
Body = tuple[Sequence[Inbound], Sequence[StatusUpdate], Sequence[Quarantined]]


async def store_webhooks(conn: asyncpg.Connection, bodies: Sequence[Body]) -> list[Stored]:
    """Store several webhook bodies in one transaction (one commit: one WAL flush for all of
    them); what each stored, in order. Each sender's messages keep the order of the bodies.
    Statuses go in wamid order, so two processes storing bodies together take the wamids' locks
    in the same order and never wait on each other in a circle. If the database refuses an item
    (or picks this transaction to break a deadlock after all), each body is stored on its own,
    as store_webhook would have.

    Bodies that hold only messages (a burst of them, or one at a quiet time), or one status that
    is not a failure (Meta posts each sent, delivered and read apart), are one statement and no
    BEGIN or COMMIT: a statement is a transaction of its own, and two of the three round trips
    go (the webhook alone: 0.30 -> 0.27 ms of server CPU an acknowledgement)."""
    messages = [m for body_messages, _, _ in bodies for m in body_messages]
    statuses = [s for _, body_statuses, _ in bodies for s in body_statuses]
    if not any(quarantined for _, _, quarantined in bodies) and (
            not statuses or (not messages and len(statuses) == 1
                             and statuses[0].status != "failed")):
        try:
            stored = await _store_messages(conn, messages)
            for status in statuses:
                await _store_status(conn, status)
        except (*_UNSTORABLE, asyncpg.DeadlockDetectedError):
            pass  # stored again below, body by body, what is refused set aside
        else:
            return [Stored(n, 0) for n in _new_in_each(bodies, stored)]
    try:
        async with conn.transaction():
            new = _new_in_each(bodies, await _store_messages(conn, messages))
            for status in sorted(statuses, key=lambda s: s.wamid):
                await _store_status(conn, status)
            kept = [await quarantine.save(conn, q) for _, _, q in bodies]
            return [Stored(n, k) for n, k in zip(new, kept, strict=True)]
    except (*_UNSTORABLE, asyncpg.DeadlockDetectedError):
        return [await store_webhook(conn, *body) for body in bodies]


def _new_in_each(bodies: Sequence[Body], stored: set[str]) -> list[int]:
    """How many of each body's messages were new; a wamid in two bodies (Meta's retry) is new
    in the first."""
    new = []
    for messages, _, _ in bodies:
        new.append(sum(1 for m in messages if m.wamid in stored))
        stored = stored - {m.wamid for m in messages}
    return new


async def _store(
    conn: asyncpg.Connection,
    messages: Sequence[Inbound],
    statuses: Sequence[StatusUpdate],
    quarantined: Sequence[Quarantined],
    *,
    each: bool,
) -> Stored:
    refused: list[Quarantined] = []

    async def attempt(kind: str, store: Callable[[Any], Awaitable[bool]], item: Any) -> bool:
        if not each:
            return await store(item)
        try:
            async with conn.transaction():  # a savepoint: only this item is undone
                return await store(item)
        except _UNSTORABLE as exc:
            refused.append(Quarantined(
                kind, f"database refused it: {type(exc).__name__}", _item_raw(item)))
            return False

    new = 0
    for m in messages:
        new += await attempt("message", lambda m: _store_message(conn, m), m)
    for s in statuses:
        await attempt("status", lambda s: _store_status(conn, s), s)
    kept = await quarantine.save(conn, [*quarantined, *refused])
    return Stored(new=new, quarantined=kept)


# One round trip. Until commit the sender's key is held shared, and the inbox, which takes it
# exclusively only to read their oldest message (bot/inbox.py), leaves the sender alone: a
# message given the smaller id but committed after a later one of the same sender is still
# handled first. A new row wakes the inbox (the notification goes at commit; repeats in one
# transaction are folded).
_STORE_MESSAGE = f"""
INSERT INTO inbound_messages (wamid, sender, wa_id, wa_user_id, profile_name, kind, body, sent_at)
SELECT $1, $2, $3, $4, $5, $6, $7, $8
  FROM (SELECT pg_advisory_xact_lock_shared(hashtextextended('inbound:' || $2::text, 0))) AS lock
ON CONFLICT (wamid) DO NOTHING
RETURNING id, pg_notify('{INBOUND_CHANNEL}', '')
"""


async def _store_message(conn: asyncpg.Connection, m: Inbound) -> bool:
    row = await conn.fetchrow(
        _STORE_MESSAGE,
        m.wamid, m.sender, m.wa_id, m.wa_user_id, m.profile_name, m.kind, m.body, m.sent_at,
    )
    return row is not None


# _STORE_MESSAGE for many messages in one round trip, in the order given (ids follow it); the
# wamids that were new. A wamid twice in one call is stored once.
_STORE_MESSAGES = f"""
INSERT INTO inbound_messages (wamid, sender, wa_id, wa_user_id, profile_name, kind, body, sent_at)
SELECT m.wamid, m.sender, m.wa_id, m.wa_user_id, m.profile_name, m.kind, m.body, m.sent_at
  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
              $7::jsonb[], $8::timestamptz[]) WITH ORDINALITY
           AS m (wamid, sender, wa_id, wa_user_id, profile_name, kind, body, sent_at, n)
 CROSS JOIN LATERAL (SELECT pg_advisory_xact_lock_shared(
                         hashtextextended('inbound:' || m.sender, 0))) AS lock
 ORDER BY m.n
ON CONFLICT (wamid) DO NOTHING
RETURNING wamid, pg_notify('{INBOUND_CHANNEL}', '')
"""


async def _store_messages(conn: asyncpg.Connection, messages: Sequence[Inbound]) -> set[str]:
    if not messages:
        return set()
    rows = await conn.fetch(
        _STORE_MESSAGES, [m.wamid for m in messages], [m.sender for m in messages],
        [m.wa_id for m in messages], [m.wa_user_id for m in messages],
        [m.profile_name for m in messages], [m.kind for m in messages],
        [m.body for m in messages], [m.sent_at for m in messages])
    return {r["wamid"] for r in rows}


# Confirming a send ($1: the outbox row, $2: Meta's wamid) without a savepoint: a wamid another
# row already holds is seen, not hit as a unique violation that would undo the webhook's other
# rows. (Two rows given one wamid at the same instant would still collide: the body is then
# stored item by item, this one set aside.) A confirmed row wakes the sender (the recipient's
# next reply may go now) and whoever waits for replies to be delivered.
_CONFIRM_CTES = f"""
holder AS (SELECT id FROM outbox WHERE wamid = $2),
confirmed AS (
    UPDATE outbox SET status = 'sent', wamid = $2, sent_at = now(), sending_since = NULL
     WHERE id = $1 AND wamid IS NULL AND status <> 'sent' AND NOT EXISTS (SELECT FROM holder)
    RETURNING id, pg_notify('{OUTBOX_CHANNEL}', ''), pg_notify('{DELIVERED_CHANNEL}', ''))"""

_CONFIRM_SENT = f"""
WITH {_CONFIRM_CTES}
SELECT EXISTS (SELECT FROM confirmed) AS confirmed, (SELECT id FROM holder) AS holder
"""


# A status is stored and, when it names our outbox row ($1; $2 its wamid), confirms that row,
# in one round trip. Without our reference $1 is NULL and nothing is confirmed.
_STORE_STATUS = f"""
WITH stored AS (
    INSERT INTO message_statuses (wamid, status, rank, recipient, error_code, error_title,
                                  callback_data)
    VALUES ($2, $3, $4, $5, $6, $7, $8)
    ON CONFLICT (wamid) DO UPDATE SET
        status = EXCLUDED.status, rank = EXCLUDED.rank,
        error_code = EXCLUDED.error_code, error_title = EXCLUDED.error_title,
        callback_data = coalesce(message_statuses.callback_data, EXCLUDED.callback_data),
        updated_at = now()
    WHERE message_statuses.rank < EXCLUDED.rank
    RETURNING true),
{_CONFIRM_CTES}
SELECT EXISTS (SELECT FROM stored) AS changed, (SELECT id FROM holder) AS holder
"""


async def _store_status(conn: asyncpg.Connection, s: StatusUpdate) -> bool:
    outbox_id = outbox_reference(s.callback_data)
    row = await conn.fetchrow(
        _STORE_STATUS, outbox_id, s.wamid, s.status, STATUS_RANK[s.status], s.recipient,
        s.error_code, s.error_title, None if outbox_id is None else reference(outbox_id))
    if outbox_id is not None:
        _held_elsewhere(row, outbox_id, s.wamid)
    if row["changed"] and s.status == "failed":
        await delivery_failed(conn, s.wamid, s.error_code, s.error_title)
    return bool(row["changed"])


def _item_raw(item: Inbound | StatusUpdate) -> bytes:
    fields = dataclasses.asdict(item)
    return json.dumps(fields, ensure_ascii=True, default=str).encode("ascii")


async def lock_wamid(conn: asyncpg.Connection, wamid: str) -> None:
    """Serialises recording a send with applying its failure status (until commit).

    The sender marks a row sent and then looks for a stored failure; the webhook stores a failure
    and then looks for the sent row. Each statement only sees what was committed before it began,
    so without this lock both could look before the other commits, and the failure be lost.
    """
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended('wamid:' || $1, 0))", wamid)


def reference(outbox_id: int) -> str:
    """What a send carries as `biz_opaque_callback_data`: which outbox row it is."""
    return f"{_REFERENCE_PREFIX}{outbox_id}"


def outbox_reference(callback_data: str | None) -> int | None:
    """The outbox id in a status's callback data, if it is one of ours."""
    if callback_data is None or not _REFERENCE.fullmatch(callback_data):
        return None
    return int(callback_data.removeprefix(_REFERENCE_PREFIX))


async def confirm_sent(conn: asyncpg.Connection, outbox_id: int, wamid: str) -> bool:
    """A status webhook names this outbox row: Meta has it, so it is sent and never sent again,
    however its own send ended (timed out, dropped, or the process died before recording).

    Returns whether the row changed. Never raises on a wamid already held by another row.
    """
    row = await conn.fetchrow(_CONFIRM_SENT, outbox_id, wamid)
    _held_elsewhere(row, outbox_id, wamid)
    return bool(row["confirmed"])


def _held_elsewhere(row: asyncpg.Record, outbox_id: int, wamid: str) -> None:
    if row["holder"] is not None and row["holder"] != outbox_id:
        log.error("outbox %s: status for wamid %s, already recorded for another message",
                  outbox_id, wamid)


async def apply_stored_failure(conn: asyncpg.Connection, wamid: str) -> None:
    """A failure status stored before its send was recorded is applied now (call it holding the
    wamid's lock, after the row has its wamid)."""
    failure = await conn.fetchrow(
        """SELECT error_code, error_title FROM message_statuses
           WHERE wamid = $1 AND status = 'failed'""", wamid)
    if failure:
        await delivery_failed(conn, wamid, failure["error_code"], failure["error_title"])


async def delivery_failed(
    conn: asyncpg.Connection, wamid: str, code: int | None, title: str | None
) -> None:
    """WhatsApp accepted a message, then could not deliver it: the outbox row becomes failed, for
    operators to see; outside the 24-hour window the same words go again as a template."""
    await lock_wamid(conn, wamid)
    row = await conn.fetchrow(
        """UPDATE outbox SET status = 'failed', last_error = $2
           WHERE wamid = $1 AND status = 'sent'
           RETURNING id, recipient, payload, fallback, inbound_id""",
        wamid, f"delivery failed: {code} {title or ''}".strip())
    if (row is not None and code == OUTSIDE_WINDOW and row["fallback"]
            and row["payload"].get("type") != "template"):
        await enqueue(conn, row["recipient"], row["fallback"], inbound_id=row["inbound_id"])


@dataclass(frozen=True)
class Queued:
    """A message for the outbox: to whom, what, and what to send instead once their 24-hour
    window has closed; `inbound_id` is the message it answers, `document_id` its file."""

    recipient: str
    payload: dict[str, Any]
    fallback: dict[str, Any] | None = None
    inbound_id: int | None = None
    document_id: int | None = None


# A message's turn (bot/sender.py claims by turn) follows its recipient's last pending one, and
# is never earlier than the queue's current turn: a flooded recipient's replies spread out over
# many turns, while someone with one reply waits at most one round. Messages written together
# take their recipient's turns one after another, as if written one by one. One statement.
# Each recipient's last turn is read once for all their rows, not in a subquery for each row:
# planning for an array it cannot see, PostgreSQL costed ten rows' lookups, found its reusable
# plan dearer than a fresh one and planned the statement afresh at every call (a quarter of a
# millisecond, more than running it took). Read once, the reusable plan is kept.
_ENQUEUE = f"""
WITH new AS (
    SELECT * FROM unnest($1::text[], $2::jsonb[], $3::jsonb[], $4::bigint[], $5::bigint[])
                  WITH ORDINALITY AS n (recipient, payload, fallback, inbound_id, document_id, k)),
last AS (
    SELECT DISTINCT ON (o.recipient) o.recipient, o.turn + 1 AS next FROM outbox o
     WHERE o.status = 'pending' AND o.recipient = ANY ($1::text[])
     ORDER BY o.recipient, o.id DESC)
INSERT INTO outbox (recipient, payload, fallback, inbound_id, document_id, turn)
SELECT new.recipient, payload, fallback, inbound_id, document_id,
       greatest(last.next,
                (SELECT o.turn FROM outbox o WHERE o.status = 'pending'
                  ORDER BY o.turn, o.id LIMIT 1),
                0) + row_number() OVER (PARTITION BY new.recipient ORDER BY k) - 1
  FROM new LEFT JOIN last ON last.recipient = new.recipient
 ORDER BY k
RETURNING id, pg_notify('{OUTBOX_CHANNEL}', '')"""  # the sender wakes at commit


async def enqueue_all(conn: asyncpg.Connection, messages: Sequence[Queued]) -> list[int]:
    """Write messages to the outbox inside the caller's transaction, in one round trip; they
    are sent after commit. Returns their outbox ids, in order."""
    if not messages:
        return []
    rows = await conn.fetch(
        _ENQUEUE, [m.recipient for m in messages], [m.payload for m in messages],
        [m.fallback for m in messages], [m.inbound_id for m in messages],
        [m.document_id for m in messages])
    return sorted(row["id"] for row in rows)  # ids are drawn in the order the rows are written


async def enqueue(
    conn: asyncpg.Connection,
    recipient: str,
    payload: dict[str, Any],
    *,
    fallback: dict[str, Any] | None = None,
    inbound_id: int | None = None,
) -> int:
    """Write one message to the outbox inside the caller's transaction (`enqueue_all`)."""
    (outbox_id,) = await enqueue_all(conn, [Queued(recipient, payload, fallback, inbound_id)])
    return outbox_id


async def save_document(
    conn: asyncpg.Connection, filename: str, mime_type: str, content: bytes
) -> int:
    """Keep a document's bytes for the outbox row that sends it (same transaction)."""
    document_id: int = await conn.fetchval(
        """INSERT INTO outbox_documents (filename, mime_type, content) VALUES ($1, $2, $3)
           RETURNING id""", filename, mime_type, content)
    return document_id


def payload_text(payload: dict[str, Any]) -> str:
    """The words a payload shows a person, for logs, the terminal chat and the simulator."""
    kind = payload.get("type")
    if kind == "text":
        return str(payload["text"]["body"])
    if kind == "interactive":
        return str(payload["interactive"]["body"]["text"])
    if kind == "document":
        document = payload["document"]
        return f"[{document.get('filename', 'document')}] {document.get('caption', '')}".strip()
    return json.dumps(payload.get(kind or "", payload), ensure_ascii=False)
