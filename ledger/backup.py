"""What a backup says about the database it dumped, read in the very snapshot pg_dump dumps, and
the same read again after a restore to compare: migrations applied, rows per table, and the head
of every account's hash chain (ledger.chain). Also whether a database is empty enough to restore
into. The dump itself, and the files, are bot/backup_cli.py's."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

import asyncpg

from ledger.roles import ident

# Schemas no backup is about: the server's own. Everything else with a relation in it is ours
# (Khaacho's database is its own: README, Database roles).
_SYSTEM_SCHEMAS = """(n.nspname IN ('pg_catalog', 'information_schema', 'pg_toast')
                     OR n.nspname LIKE 'pg\\_temp\\_%' OR n.nspname LIKE 'pg\\_toast\\_temp\\_%')"""


@dataclass(frozen=True)
class ChainHead:
    """The newest entry of one account: its hash vouches for the account's whole chain."""

    account_id: int
    account_version: int
    entry_id: int
    hash_hex: str


@dataclass(frozen=True)
class State:
    """The database as one snapshot saw it."""

    taken_at: datetime                 # the snapshot's transaction start (UTC)
    database: str
    schema: str                        # the app's schema (current_schema()), counted below
    schemas: tuple[str, ...]           # every non-system schema holding a relation
    server_version: str                # e.g. "15.20"
    server_major: int
    migrations: tuple[int, ...]        # schema_migrations' versions, ascending
    row_counts: Mapping[str, int]      # every table of `schema`, by name
    chain_heads: tuple[ChainHead, ...]  # one per account with entries, by account id

    def as_json(self) -> dict[str, Any]:
        return {
            "taken_at": self.taken_at.isoformat().replace("+00:00", "Z"),
            "database": self.database, "schema": self.schema, "schemas": list(self.schemas),
            "server_version": self.server_version, "server_major": self.server_major,
            "migrations": list(self.migrations), "row_counts": dict(self.row_counts),
            "chain_heads": [{"account_id": h.account_id, "account_version": h.account_version,
                             "entry_id": h.entry_id, "hash": h.hash_hex}
                            for h in self.chain_heads],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> State:
        """Raises KeyError, TypeError or ValueError for a manifest that is not one."""
        return cls(
            taken_at=datetime.fromisoformat(str(data["taken_at"]).replace("Z", "+00:00")),
            database=str(data["database"]), schema=str(data["schema"]),
            schemas=tuple(str(s) for s in data["schemas"]),
            server_version=str(data["server_version"]), server_major=int(data["server_major"]),
            migrations=tuple(int(v) for v in data["migrations"]),
            row_counts=MappingProxyType({str(k): int(v) for k, v in data["row_counts"].items()}),
            chain_heads=tuple(ChainHead(int(h["account_id"]), int(h["account_version"]),
                                        int(h["entry_id"]), str(h["hash"]))
                              for h in data["chain_heads"]),
        )


async def read_state(conn: asyncpg.Connection) -> State:
    """The State in the caller's transaction (its snapshot: REPEATABLE READ for one moment)."""
    about = await conn.fetchrow(
        """SELECT now() AS taken_at, current_database() AS database,
                  current_schema() AS schema, current_setting('server_version') AS version,
                  current_setting('server_version_num')::int / 10000 AS major""")
    assert about is not None
    schemas = tuple(r["nspname"] for r in await conn.fetch(
        f"""SELECT DISTINCT n.nspname FROM pg_class c
            JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE NOT {_SYSTEM_SCHEMAS} ORDER BY n.nspname"""))
    tables = [r["relname"] for r in await conn.fetch(
        """SELECT relname FROM pg_class
           WHERE relnamespace = current_schema()::regnamespace AND relkind IN ('r', 'p')
           ORDER BY relname""")]
    counts: dict[str, int] = {}
    for table in tables:
        counts[table] = int(await conn.fetchval(f"SELECT count(*) FROM {ident(table)}"))
    migrations: tuple[int, ...] = ()
    if "schema_migrations" in counts:
        migrations = tuple(r["version"] for r in await conn.fetch(
            "SELECT version FROM schema_migrations ORDER BY version"))
    heads: tuple[ChainHead, ...] = ()
    if "ledger_entries" in counts:
        # The chain's columns exist from migration 020 on; a dump from before has no heads.
        chained = await conn.fetchval(
            """SELECT true FROM pg_attribute
               WHERE attrelid = 'ledger_entries'::regclass AND attname = 'entry_hash'""")
        if chained:
            heads = tuple(ChainHead(r["account_id"], r["account_version"], r["id"],
                                    bytes(r["entry_hash"]).hex()) for r in await conn.fetch(
                """SELECT DISTINCT ON (account_id) account_id, account_version, id, entry_hash
                   FROM ledger_entries ORDER BY account_id, account_version DESC"""))
    return State(
        taken_at=about["taken_at"].astimezone(UTC), database=about["database"],
        schema=about["schema"], schemas=schemas, server_version=about["version"],
        server_major=about["major"], migrations=migrations,
        row_counts=MappingProxyType(counts), chain_heads=heads)


@asynccontextmanager
async def exported_snapshot(conn: asyncpg.Connection) -> AsyncIterator[tuple[str, State]]:
    """A read-only REPEATABLE READ transaction, its snapshot exported (pg_export_snapshot) and
    the State read in it; held open while the caller runs `pg_dump --snapshot=<id>`, so the
    dump and the State see the same moment whatever is written meanwhile."""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        # The first statement: the snapshot it fixes is the one every read below sees.
        snapshot: str = await conn.fetchval("SELECT pg_export_snapshot()")
        # pg_dump may take hours; a server that ends idle transactions must not end this one.
        await conn.execute("SET LOCAL idle_in_transaction_session_timeout = 0")
        yield snapshot, await read_state(conn)


def differences(expected: State, found: State) -> list[str]:
    """Where `found` (a restored database) disagrees with `expected` (the manifest): one line
    each, empty when migrations, every table's row count and every chain head agree."""
    lines: list[str] = []
    if expected.migrations != found.migrations:
        lines.append(f"migrations: the manifest has {_versions(expected.migrations)}, the "
                     f"database {_versions(found.migrations)}")
    for table in sorted(set(expected.row_counts) | set(found.row_counts)):
        want, have = expected.row_counts.get(table), found.row_counts.get(table)
        if want is None:
            lines.append(f"table {table}: in the database, not in the manifest")
        elif have is None:
            lines.append(f"table {table}: in the manifest ({want} rows), not in the database")
        elif want != have:
            lines.append(f"table {table}: {have} rows, the manifest says {want}")
    want_heads = {h.account_id: h for h in expected.chain_heads}
    have_heads = {h.account_id: h for h in found.chain_heads}
    for account in sorted(set(want_heads) | set(have_heads)):
        want_head, have_head = want_heads.get(account), have_heads.get(account)
        if want_head != have_head:
            lines.append(f"chain head of account {account}: {_head(have_head)}, the manifest "
                         f"says {_head(want_head)}")
    return lines


def _versions(versions: Sequence[int]) -> str:
    return ", ".join(f"{v:03d}" for v in versions) or "none"


def _head(head: ChainHead | None) -> str:
    if head is None:
        return "none"
    return f"entry {head.entry_id} at version {head.account_version}, {head.hash_hex[:16]}…"


async def occupied(conn: asyncpg.Connection, schemas: Sequence[str]) -> list[str]:
    """What is already in these schemas of the connected database (at most 5 names, and how
    many in all): a restore goes only into a database with nothing there."""
    rows = await conn.fetch(
        """SELECT n.nspname || '.' || c.relname AS name, count(*) OVER () AS total
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = ANY($1::text[]) AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
           ORDER BY c.relkind <> 'r', n.nspname, c.relname LIMIT 5""", list(schemas))
    if not rows:
        return []
    names = [r["name"] for r in rows]
    more = int(rows[0]["total"]) - len(names)
    return names + ([f"{more} more"] if more else [])


async def analyze(conn: asyncpg.Connection, schemas: Sequence[str]) -> None:
    """Planner statistics for the tables of a freshly restored database (pg_restore copies
    none), table by table: a bare ANALYZE would also try the catalogs, which only the
    database's owner may."""
    for row in await conn.fetch(
            """SELECT n.nspname, c.relname FROM pg_class c
               JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE n.nspname = ANY($1::text[]) AND c.relkind IN ('r', 'p', 'm')
               ORDER BY 1, 2""", list(schemas)):
        await conn.execute(f"ANALYZE {ident(row['nspname'])}.{ident(row['relname'])}")
