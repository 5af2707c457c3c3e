"""The credit ledger: append-only entries on retailer x vendor accounts, posted exactly once.

pgledger's shape: each account row caches its balance and a version and is locked for the
posting (FOR NO KEY UPDATE; in (retailer_id, vendor_id) order when several are touched, so two
postings never wait on each other in a cycle); each entry stores the balance after it and the
account version it made, so the chain can be audited. TigerBeetle's rule: every posting has an
idempotency key; the same key with the same content returns the original entry, with other
content it is refused.
Sign: a positive amount means the retailer owes the vendor more.
Every entry also says who stated it (`stated_by`: by default whoever posts it), who of the other
side acknowledged it (`acknowledged_by`, or nobody yet), when it happened (`happened_at`: when it
was written, unless it comes from a vendor's old book) and where it came from (`source`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

import asyncpg

from ledger.errors import (
    AlreadyReversed,
    IdempotencyConflict,
    InvalidAmount,
    NotReversible,
)

EntryKind = Literal["ORDER_CREDIT", "PAYMENT_DEBIT", "REVERSAL", "ADJUSTMENT"]
Source = Literal["live", "import"]

# Bounds (TIGER_STYLE: put a limit on everything). 10^13 paisa is 100 billion rupees per entry.
MAX_AMOUNT_PAISA = 10**13
MAX_KEY_LENGTH = 200
MAX_BATCH = 100


def is_paisa(value: object) -> bool:
    """An amount of money: an int, and not a bool (True would otherwise count as 1 paisa)."""
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class Posting:
    """One requested entry; `idempotency_key` names the request, not the entry."""

    idempotency_key: str
    retailer_id: int
    vendor_id: int
    kind: EntryKind
    amount_paisa: int
    actor_id: int | None
    reason: str = ""
    order_id: int | None = None
    payment_id: int | None = None
    reverses_entry_id: int | None = None
    stated_by: int | None = None         # None: the actor
    acknowledged_by: int | None = None   # the other side of the account, when it agreed
    happened_at: datetime | None = None  # None: when it is written (an import gives its date)
    source: Source = "live"

    @property
    def stater(self) -> int | None:
        return self.actor_id if self.stated_by is None else self.stated_by


@dataclass(frozen=True)
class Entry:
    id: int
    account_id: int
    account_version: int
    retailer_id: int
    vendor_id: int
    kind: EntryKind
    amount_paisa: int
    balance_after_paisa: int
    order_id: int | None
    payment_id: int | None
    reverses_entry_id: int | None
    actor_id: int | None
    reason: str
    idempotency_key: str
    created_at: datetime
    stated_by: int | None
    acknowledged_by: int | None
    happened_at: datetime
    source: Source
    # True when this call found the entry an earlier call with the same key had posted.
    replayed: bool = field(default=False, compare=False)


@dataclass(frozen=True)
class Account:
    id: int
    retailer_id: int
    vendor_id: int
    balance_paisa: int
    version: int


def request_hash(posting: Posting) -> bytes:
    """What "the same request" means: every field but the key itself.

    The fields added with `stated_by` count only when they say more than a posting before them
    did, so a request made before they existed hashes as it did then.
    """
    content: list[object] = [
        posting.retailer_id, posting.vendor_id, posting.kind, posting.amount_paisa,
        posting.actor_id, posting.reason, posting.order_id, posting.payment_id,
        posting.reverses_entry_id,
    ]
    if (posting.stater != posting.actor_id or posting.acknowledged_by is not None
            or posting.happened_at is not None or posting.source != "live"):
        content.append({
            "stated_by": posting.stater, "acknowledged_by": posting.acknowledged_by,
            "happened_at": posting.happened_at.isoformat() if posting.happened_at else None,
            "source": posting.source,
        })
    return hashlib.sha256(json.dumps(content, separators=(",", ":")).encode()).digest()


def _validate(posting: Posting) -> None:
    amount = posting.amount_paisa
    if not is_paisa(amount) or amount == 0 or abs(amount) > MAX_AMOUNT_PAISA:
        raise InvalidAmount(amount_paisa=amount)
    wrong_sign = (posting.kind == "ORDER_CREDIT" and amount < 0) or (
        posting.kind == "PAYMENT_DEBIT" and amount > 0)
    if wrong_sign:
        raise InvalidAmount(amount_paisa=amount)
    key = posting.idempotency_key
    if not key or len(key) > MAX_KEY_LENGTH:
        raise ValueError(f"idempotency key must be 1..{MAX_KEY_LENGTH} characters")
    if posting.source == "live" and posting.happened_at is not None:
        raise ValueError("a live entry happens when it is written; only imports give a date")
    if posting.source == "import" and posting.happened_at is None:
        raise ValueError("an imported entry keeps the date it happened")
    if posting.acknowledged_by is not None and posting.acknowledged_by == posting.stater:
        raise ValueError("an entry is acknowledged by the other side, not by who stated it")


_KEY_CONSTRAINT = "ledger_entries_idempotency_key_key"
_REVERSES_CONSTRAINT = "ledger_entries_reverses_once"


def _columns(account_alias: str = "a") -> str:
    """The entry columns, with retailer and vendor read from the account aliased so."""
    return f"""e.id, e.account_id, e.account_version, {account_alias}.retailer_id,
        {account_alias}.vendor_id, e.kind, e.amount_paisa, e.balance_after_paisa, e.order_id,
        e.payment_id, e.reverses_entry_id, e.actor_id, e.reason, e.idempotency_key, e.created_at,
        e.stated_by, e.acknowledged_by, e.happened_at, e.source"""


_ENTRY_COLUMNS = _columns()


def _entry(row: asyncpg.Record, replayed: bool = False) -> Entry:
    return Entry(
        id=row["id"], account_id=row["account_id"], account_version=row["account_version"],
        retailer_id=row["retailer_id"], vendor_id=row["vendor_id"], kind=row["kind"],
        amount_paisa=row["amount_paisa"], balance_after_paisa=row["balance_after_paisa"],
        order_id=row["order_id"], payment_id=row["payment_id"],
        reverses_entry_id=row["reverses_entry_id"], actor_id=row["actor_id"],
        reason=row["reason"], idempotency_key=row["idempotency_key"],
        created_at=row["created_at"], stated_by=row["stated_by"],
        acknowledged_by=row["acknowledged_by"], happened_at=row["happened_at"],
        source=row["source"], replayed=replayed,
    )


async def lock_accounts(
    conn: asyncpg.Connection, pairs: Iterable[tuple[int, int]]
) -> dict[tuple[int, int], Account]:
    """Create missing accounts, then lock all of them in (retailer_id, vendor_id) order.

    Call inside a transaction; the locks last until it ends.
    """
    wanted = sorted(set(pairs))
    if not wanted:
        return {}
    retailers = [r for r, _ in wanted]
    vendors = [v for _, v in wanted]
    await conn.execute(
        """INSERT INTO ledger_accounts (retailer_id, vendor_id)
           SELECT * FROM unnest($1::bigint[], $2::bigint[])
           ORDER BY 1, 2
           ON CONFLICT (retailer_id, vendor_id) DO NOTHING""",
        retailers, vendors,
    )
    # LockRows sits above the sort, so rows are locked in this order.
    rows = await conn.fetch(
        """SELECT a.id, a.retailer_id, a.vendor_id, a.balance_paisa, a.version
           FROM ledger_accounts a
           JOIN unnest($1::bigint[], $2::bigint[]) AS w (retailer_id, vendor_id)
             ON a.retailer_id = w.retailer_id AND a.vendor_id = w.vendor_id
           ORDER BY a.retailer_id, a.vendor_id
           FOR NO KEY UPDATE OF a""",
        retailers, vendors,
    )
    accounts = {(r["retailer_id"], r["vendor_id"]): Account(**dict(r)) for r in rows}
    assert len(accounts) == len(wanted), "every requested account exists after the insert"
    return accounts


async def post(conn: asyncpg.Connection, posting: Posting, *, now: datetime | None = None) -> Entry:
    """Post one entry, or return the one an earlier request with the same key posted.

    One statement does it all (look the key up, move the account's cached balance under its row
    lock, append the entry), so outside a transaction a posting is one round trip and still
    atomic. Inside the caller's transaction it runs in a savepoint, so a lost race with a
    concurrent retry of the same key can be answered with the original instead of an abort.
    """
    _validate(posting)
    digest = request_hash(posting)
    try:
        if conn.is_in_transaction():
            async with conn.transaction():
                return await _post(conn, posting, digest, now)
        return await _post(conn, posting, digest, now)
    except asyncpg.UniqueViolationError as exc:
        if exc.constraint_name == _REVERSES_CONSTRAINT:
            raise AlreadyReversed(entry_id=posting.reverses_entry_id) from exc
        if exc.constraint_name != _KEY_CONSTRAINT:
            raise
    # A request with the same key committed while this one waited for the account's row lock:
    # the statement's key lookup read the snapshot from before the wait. Look again.
    row = await _by_key(conn, posting.idempotency_key)
    assert row is not None, "the conflicting entry is committed"
    return _replay(row, posting, digest)


async def post_many(
    conn: asyncpg.Connection, postings: Sequence[Posting], *, now: datetime | None = None
) -> list[Entry]:
    """Post several entries atomically; every account is locked first, in a fixed order."""
    if len(postings) > MAX_BATCH:
        raise ValueError(f"at most {MAX_BATCH} postings in one batch")
    for posting in postings:
        _validate(posting)
    async with conn.transaction():
        await lock_accounts(conn, [(p.retailer_id, p.vendor_id) for p in postings])
        # Accounts are locked by us now, so no concurrent same-key request can slip in between.
        return [await _post(conn, p, request_hash(p), now) for p in postings]


async def reverse(
    conn: asyncpg.Connection,
    entry_id: int,
    *,
    idempotency_key: str,
    actor_id: int | None,
    reason: str,
    now: datetime | None = None,
) -> Entry:
    """Post the opposite of an entry; an entry is reversed at most once (a UNIQUE column)."""
    original = await get(conn, entry_id)
    if original is None or original.kind == "REVERSAL":
        raise NotReversible(entry_id=entry_id, kind=original.kind if original else None)
    return await post(conn, Posting(
        idempotency_key=idempotency_key, retailer_id=original.retailer_id,
        vendor_id=original.vendor_id, kind="REVERSAL", amount_paisa=-original.amount_paisa,
        actor_id=actor_id, reason=reason, order_id=original.order_id,
        payment_id=original.payment_id, reverses_entry_id=original.id,
    ), now=now)


async def get(conn: asyncpg.Connection, entry_id: int) -> Entry | None:
    row = await conn.fetchrow(
        f"""SELECT {_ENTRY_COLUMNS} FROM ledger_entries e
            JOIN ledger_accounts a ON a.id = e.account_id WHERE e.id = $1""",
        entry_id,
    )
    return _entry(row) if row else None


async def _by_key(conn: asyncpg.Connection, key: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"""SELECT e.request_hash, {_ENTRY_COLUMNS} FROM ledger_entries e
            JOIN ledger_accounts a ON a.id = e.account_id WHERE e.idempotency_key = $1""",
        key,
    )


def _replay(row: asyncpg.Record, posting: Posting, digest: bytes) -> Entry:
    if bytes(row["request_hash"]) != digest:
        raise IdempotencyConflict(key=posting.idempotency_key)
    return _entry(row, replayed=True)


async def _post(
    conn: asyncpg.Connection, posting: Posting, digest: bytes, now: datetime | None
) -> Entry:
    args = (posting.idempotency_key, posting.reverses_entry_id, posting.amount_paisa, now,
            posting.retailer_id, posting.vendor_id, posting.kind, posting.order_id,
            posting.payment_id, digest, posting.actor_id, posting.reason, posting.stater,
            posting.acknowledged_by, posting.happened_at, posting.source)
    row = await conn.fetchrow(_POST, *args)
    assert row is not None, "the statement always returns one row"
    if row["posted"] is None and row["reversed_by"] is None:
        # The account's first posting: create it, then post again.
        await conn.execute(
            """INSERT INTO ledger_accounts (retailer_id, vendor_id) VALUES ($1, $2)
               ON CONFLICT (retailer_id, vendor_id) DO NOTHING""",
            posting.retailer_id, posting.vendor_id,
        )
        row = await conn.fetchrow(_POST, *args)
        assert row is not None
    if row["posted"] == "existing":
        return _replay(row, posting, digest)
    if row["posted"] is None:
        raise AlreadyReversed(entry_id=posting.reverses_entry_id, reversal_id=row["reversed_by"])
    assert row["posted"] == "new", row
    entry = _entry(row)
    assert entry.amount_paisa == posting.amount_paisa and entry.account_version > 0, entry
    return entry


# Look the key up; unless found (or the target already reversed), move the balance and append.
# The UPDATE takes the account row lock and re-reads the newest balance after any wait, so the
# entry's balance_after and version continue the chain; UNIQUE (account_id, account_version)
# backs that up. Always one row: `posted` is 'new', 'existing' or NULL (nothing posted).
_POST = """
    WITH existing AS (
        SELECT e.request_hash, e.id, e.account_id, e.account_version, a.retailer_id,
               a.vendor_id, e.kind, e.amount_paisa, e.balance_after_paisa, e.order_id,
               e.payment_id, e.reverses_entry_id, e.actor_id, e.reason, e.idempotency_key,
               e.created_at, e.stated_by, e.acknowledged_by, e.happened_at, e.source
        FROM ledger_entries e JOIN ledger_accounts a ON a.id = e.account_id
        WHERE e.idempotency_key = $1),
    reversed AS (
        SELECT id FROM ledger_entries WHERE reverses_entry_id = $2),
    acc AS (
        UPDATE ledger_accounts
        SET balance_paisa = balance_paisa + $3, version = version + 1,
            updated_at = COALESCE($4, now())
        WHERE retailer_id = $5 AND vendor_id = $6
          AND NOT EXISTS (SELECT 1 FROM existing) AND NOT EXISTS (SELECT 1 FROM reversed)
        RETURNING id, retailer_id, vendor_id, balance_paisa, version),
    ins AS (
        INSERT INTO ledger_entries (account_id, account_version, kind, amount_paisa,
            balance_after_paisa, order_id, payment_id, reverses_entry_id, idempotency_key,
            request_hash, actor_id, reason, created_at, stated_by, acknowledged_by, happened_at,
            source)
        SELECT acc.id, acc.version, $7, $3, acc.balance_paisa, $8, $9, $2, $1, $10, $11, $12,
               COALESCE($4, now()), $13::bigint, $14::bigint,
               COALESCE($15::timestamptz, $4, now()), $16::text
        FROM acc
        RETURNING *),
    result AS (
        SELECT 'new' AS posted, ins.request_hash, ins.id, ins.account_id, ins.account_version,
               acc.retailer_id, acc.vendor_id, ins.kind, ins.amount_paisa,
               ins.balance_after_paisa, ins.order_id, ins.payment_id, ins.reverses_entry_id,
               ins.actor_id, ins.reason, ins.idempotency_key, ins.created_at, ins.stated_by,
               ins.acknowledged_by, ins.happened_at, ins.source
        FROM ins CROSS JOIN acc
        UNION ALL
        SELECT 'existing', existing.* FROM existing)
    SELECT (SELECT min(id) FROM reversed) AS reversed_by, result.*
    FROM (SELECT 1) AS one LEFT JOIN result ON true"""
