"""Hash chains over ledger entries: what an entry's hash covers, walking chains, chain heads.

Every entry stores `entry_hash`, the SHA-256 of its content, and `prev_hash`, the `entry_hash`
of the entry before it on the same account (account_version - 1; NULL for an account's first
entry). The content includes `prev_hash`, so each account's entries form a chain: an entry
changed, removed or slipped in anywhere (even by a superuser, past every trigger) no longer
matches its hash or breaks the link after it. The database computes both when an entry is
inserted (migration 020, trigger `ledger_entries_chain`); this module recomputes them on its own,
in Python, for `khaacho check` (kind `entry_chain`) and for chain heads handed out earlier (the
bank report), which also catch a forger who rewrote a whole chain after the change.

The content (version 1), the one canonical serialization: a sequence of fields, each a netstring
(`<byte length in decimal>:<bytes>,`) or `-,` for NULL, in this order:

    "khaacho-entry-v1", id, account_id, retailer_id, vendor_id (the account's), account_version,
    kind, amount_paisa, balance_after_paisa, order_id, payment_id, reverses_entry_id, actor_id,
    stated_by, acknowledged_by, source, happened_at, created_at, reason, idempotency_key,
    request_hash, prev_hash

Integers are written in decimal ASCII (a minus sign for negatives), text as UTF-8, times as the
integer number of microseconds since 1970-01-01T00:00:00Z (no formatting to disagree about),
`request_hash` and `prev_hash` as their raw bytes. That is every column of the entry but
`entry_hash` itself, plus who the account is between (so moving an account's history to another
retailer breaks it too). `entry_hash = sha256(content)`.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

VERSION = b"khaacho-entry-v1"
BATCH = 5000  # entries fetched per round trip while walking chains: bounds memory
MAX_HEADS = 1000

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

# The columns `content` reads, with the account's retailer and vendor; `e` is ledger_entries,
# `a` its ledger_accounts row.
COLUMNS = """e.id, e.account_id, a.retailer_id, a.vendor_id, e.account_version, e.kind,
    e.amount_paisa, e.balance_after_paisa, e.order_id, e.payment_id, e.reverses_entry_id,
    e.actor_id, e.stated_by, e.acknowledged_by, e.source, e.happened_at, e.created_at,
    e.reason, e.idempotency_key, e.request_hash, e.prev_hash, e.entry_hash"""

_INTS = ("id", "account_id", "retailer_id", "vendor_id", "account_version")
_MONEY = ("amount_paisa", "balance_after_paisa", "order_id", "payment_id", "reverses_entry_id",
          "actor_id", "stated_by", "acknowledged_by")


def _micros(value: datetime) -> bytes:
    return b"%d" % ((value - _EPOCH) // _MICROSECOND)


def content(row: Mapping[str, Any]) -> bytes:
    """The bytes an entry's hash covers (the module docstring); `row` has COLUMNS.

    Written flat, one list of field values, because `khaacho check` runs it for every entry."""
    values: list[bytes | None] = [VERSION]
    values += [b"%d" % row[name] for name in _INTS]
    values.append(row["kind"].encode())
    values += [None if row[name] is None else b"%d" % row[name] for name in _MONEY]
    values += [row["source"].encode(), _micros(row["happened_at"]), _micros(row["created_at"]),
               row["reason"].encode(), row["idempotency_key"].encode(),
               bytes(row["request_hash"]),
               None if row["prev_hash"] is None else bytes(row["prev_hash"])]
    return b"".join([b"-," if v is None else b"%d:%b," % (len(v), v) for v in values])


def entry_hash(row: Mapping[str, Any]) -> bytes:
    """SHA-256 of the entry's content, as it should be stored in `entry_hash`."""
    return hashlib.sha256(content(row)).digest()


@dataclass(frozen=True)
class Break:
    """One place a chain does not hold."""

    entry_id: int
    account_id: int
    account_version: int
    line: str  # "ledger_entries 12: ..." (the check's wording)


@dataclass
class _Walk:
    account_id: int | None = None
    version: int = 0
    entry_id: int = 0
    stored: bytes | None = None


def _judge(row: asyncpg.Record, walk: _Walk) -> list[Break]:
    """What is wrong with `row`, given the entry before it on its account (`walk`)."""
    found: list[Break] = []
    entry, account, version = row["id"], row["account_id"], row["account_version"]
    stored = bytes(row["entry_hash"])
    prev = None if row["prev_hash"] is None else bytes(row["prev_hash"])

    def broke(text: str) -> None:
        found.append(Break(entry, account, version, f"ledger_entries {entry}: {text}"))

    if entry_hash(row) != stored:
        broke(f"account {account} version {version}: its content no longer matches its hash "
              f"(changed after it was written)")
    if account != walk.account_id:
        if prev is not None or version != 1:
            broke(f"the first entry of account {account} is version {version}, and its "
                  f"prev_hash names an entry that is not there (entries before it are missing)")
    elif prev != walk.stored:
        if version != walk.version + 1:
            broke(f"account {account} version {version} follows version {walk.version} "
                  f"(entry {walk.entry_id}), not the entry its prev_hash names: an entry is "
                  f"missing")
        else:
            broke(f"prev_hash is not the hash of the entry before it (entry {walk.entry_id}, "
                  f"account {account} version {walk.version}): that entry was replaced or "
                  f"this one slipped in")
    walk.account_id, walk.version, walk.entry_id, walk.stored = account, version, entry, stored
    return found


async def _rows(
    conn: asyncpg.Connection, account_ids: Sequence[int] | None, up_to: int | None,
    batch: int,
) -> AsyncIterator[asyncpg.Record]:
    """Entries in (account_id, account_version) order, `batch` at a time (keyset pages)."""
    filters: list[str] = []
    args: list[object] = []
    if account_ids is not None:
        args.append(list(account_ids))
        filters.append(f"AND e.account_id = ANY(${len(args) + 3}::bigint[])")
    if up_to is not None:
        args.append(up_to)
        filters.append(f"AND e.account_version <= ${len(args) + 3}")
    sql = f"""SELECT {COLUMNS} FROM ledger_entries e JOIN ledger_accounts a ON a.id = e.account_id
              WHERE (e.account_id, e.account_version) > ($1, $2) {" ".join(filters)}
              ORDER BY e.account_id, e.account_version LIMIT $3"""
    after = (0, 0)
    while True:
        rows = await conn.fetch(sql, after[0], after[1], batch, *args)
        for row in rows:
            yield row
        if len(rows) < batch:
            return
        after = (rows[-1]["account_id"], rows[-1]["account_version"])


async def walk(
    conn: asyncpg.Connection, *, account_ids: Sequence[int] | None = None,
    up_to_version: int | None = None, batch: int = BATCH,
) -> AsyncIterator[Break]:
    """Every break in the chains of these accounts (default: all), recomputed in Python, entry
    by entry, `batch` entries in memory at a time; entries past `up_to_version` are not read."""
    state = _Walk()
    async for row in _rows(conn, account_ids, up_to_version, batch):
        for found in _judge(row, state):
            yield found


# Chain heads ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Head:
    """The newest entry of one account at some moment: its hash vouches for the whole chain up
    to it (a report carries these; `verify_heads` checks them later)."""

    account_id: int
    vendor_id: int
    entry_id: int
    account_version: int
    hash_hex: str


async def heads_of_retailer(
    conn: asyncpg.Connection, retailer_id: int, *, as_of: datetime | None = None
) -> list[Head]:
    """The head of each account of this retailer: its entry with the highest version written
    (created_at) at or before `as_of` (default: now, the account's newest), ordered by account.
    An account with no entry by then has no head. Low level: the caller checks who may ask."""
    rows = await conn.fetch(
        """SELECT DISTINCT ON (e.account_id) e.account_id, a.vendor_id, e.id,
                  e.account_version, e.entry_hash
           FROM ledger_accounts a JOIN ledger_entries e ON e.account_id = a.id
           WHERE a.retailer_id = $1 AND ($2::timestamptz IS NULL OR e.created_at <= $2)
           ORDER BY e.account_id, e.account_version DESC""",
        retailer_id, as_of)
    return [Head(r["account_id"], r["vendor_id"], r["id"], r["account_version"],
                 bytes(r["entry_hash"]).hex()) for r in rows]


async def verify_heads(conn: asyncpg.Connection, heads: Sequence[Head]) -> list[str]:
    """Whether each head is still in the ledger, with that hash, at the end of a chain that still
    holds: every entry up to it matches its hash and links to the one before. Empty: all hold;
    else one line per problem. Read only, in one snapshot (the caller's transaction, if any)."""
    if len(heads) > MAX_HEADS:
        raise ValueError(f"at most {MAX_HEADS} heads at once")
    if conn.is_in_transaction():
        return await _verify(conn, heads)
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        return await _verify(conn, heads)


async def _verify(conn: asyncpg.Connection, heads: Sequence[Head]) -> list[str]:
    problems: list[str] = []
    for head in heads:
        where = (f"account {head.account_id} (vendor {head.vendor_id}), head entry "
                 f"{head.entry_id} at version {head.account_version}")
        row = await conn.fetchrow(
            """SELECT e.id, e.account_id, a.vendor_id, e.account_version, e.entry_hash
               FROM ledger_entries e JOIN ledger_accounts a ON a.id = e.account_id
               WHERE e.account_id = $1 AND e.account_version = $2""",
            head.account_id, head.account_version)
        if row is None:
            moved = await conn.fetchval(
                "SELECT account_id FROM ledger_entries WHERE id = $1", head.entry_id)
            problems.append(f"{where}: the entry is no longer in the ledger" if moved is None
                            else f"{where}: the account has no entry at that version")
            continue
        if row["id"] != head.entry_id:
            problems.append(f"{where}: the entry at that version is now entry {row['id']}")
        if row["vendor_id"] != head.vendor_id:
            problems.append(f"{where}: the account is now with vendor {row['vendor_id']}")
        if bytes(row["entry_hash"]).hex() != head.hash_hex.lower():
            problems.append(f"{where}: its hash is now {bytes(row['entry_hash']).hex()}, "
                            f"not {head.hash_hex}")
        async for found in walk(conn, account_ids=[head.account_id],
                                up_to_version=head.account_version):
            problems.append(f"{where}: {found.line}")
    return problems
