"""Hash-chained ledger entries (ledger.chain, migration 020): every posting path chains its entry
to the one before it on its account; a change, a removal or a rewritten chain is found by
`khaacho check` (entry_chain) and by chain heads taken before it."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from ledger import chain, check, claims, db, migrate, postings, roles, users
from ledger.postings import Posting
from tests.conftest import ROLE_PASSWORD, _admin
from tests.ledger.conftest import World
from tests.ledger.test_check import Book, build_book, reseal

ENTRIES = f"""SELECT {chain.COLUMNS} FROM ledger_entries e
              JOIN ledger_accounts a ON a.id = e.account_id
              ORDER BY e.account_id, e.account_version"""


@pytest.fixture
async def book(conn: asyncpg.Connection) -> Book:
    return await build_book(conn)


@pytest.fixture
async def su(superuser_url: str) -> AsyncIterator[asyncpg.Connection]:
    """The server's superuser, the only one who can get past the guards: the tamperer."""
    conn = await db.connect(superuser_url)
    yield conn
    await conn.close()


async def tamper(su: asyncpg.Connection, sql: str, *args: object) -> asyncpg.Record:
    """Run one change to ledger_entries with its append-only guard switched off, as a superuser
    (or the tables' owner) could; the guard is back on afterwards."""
    guard = "ledger_entries_no_update_delete"
    async with su.transaction():
        await su.execute(f"ALTER TABLE ledger_entries DISABLE TRIGGER {guard}")
        row = await su.fetchrow(sql, *args)
        await su.execute(f"ALTER TABLE ledger_entries ENABLE TRIGGER {guard}")
    assert row is not None
    return row


def chain_lines(result: check.CheckResult) -> list[str]:
    return [p.line for p in result.problems if p.kind == check.CHAIN]


async def test_every_posting_path_chains_its_entry_to_the_one_before(
    conn: asyncpg.Connection, book: Book
) -> None:
    w = book.world
    made = await claims.claim(conn, w.retailer, vendor_id=w.vendor.id, amount_paisa=1_000,
                              method="esewa", request_key="chain:claim")
    confirmed = await claims.confirm(conn, made.ref, w.vendor)
    rows = await conn.fetch(ENTRIES)
    # Live credit, live and imported payments, a claim's payment, both kinds of reversal, an
    # adjustment, an imported bill: every way an entry is written.
    paths = {(r["kind"], r["source"]) for r in rows}
    assert paths == {("ORDER_CREDIT", "live"), ("ORDER_CREDIT", "import"),
                     ("PAYMENT_DEBIT", "live"), ("PAYMENT_DEBIT", "import"),
                     ("REVERSAL", "live"), ("ADJUSTMENT", "live")}
    reversed_kinds = {k for (k,) in await conn.fetch(
        "SELECT o.kind FROM ledger_entries r JOIN ledger_entries o ON o.id = r.reverses_entry_id")}
    assert reversed_kinds == {"ORDER_CREDIT", "PAYMENT_DEBIT"}
    assert confirmed.payment.entry.id in {r["id"] for r in rows}
    before: dict[int, bytes] = {}
    for r in rows:
        assert bytes(r["entry_hash"]) == chain.entry_hash(r)
        expected = before.get(r["account_id"]) if r["account_version"] > 1 else None
        assert r["prev_hash"] == expected, r["id"]
        before[r["account_id"]] = bytes(r["entry_hash"])
    assert [line async for line in chain.walk(conn, batch=3)] == []


async def test_the_databases_hash_is_the_documented_serialization(
    conn: asyncpg.Connection, world: World
) -> None:
    # Negative amount, Devanagari and punctuation in the words, a time with microseconds.
    at = datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)
    entry = await postings.post(conn, Posting(
        "adjust:नेपाली", world.retailer.id, world.vendor.id, "ADJUSTMENT", -12_345,
        world.admin.id, reason="फिर्ता: 5, \"cash\" -,"), now=at)
    row = await conn.fetchrow(f"""SELECT {chain.COLUMNS} FROM ledger_entries e
        JOIN ledger_accounts a ON a.id = e.account_id WHERE e.id = $1""", entry.id)
    request = postings.request_hash(Posting(
        "adjust:नेपाली", world.retailer.id, world.vendor.id, "ADJUSTMENT", -12_345,
        world.admin.id, reason="फिर्ता: 5, \"cash\" -,"))
    micros = str(int(at.timestamp()) * 1_000_000 + 890_123).encode()
    reason = "फिर्ता: 5, \"cash\" -,".encode()

    def n(value: bytes) -> bytes:
        return b"%d:%b," % (len(value), value)

    expected = b"".join([
        n(b"khaacho-entry-v1"), n(str(entry.id).encode()), n(str(entry.account_id).encode()),
        n(str(world.retailer.id).encode()), n(str(world.vendor.id).encode()), n(b"1"),
        n(b"ADJUSTMENT"), n(b"-12345"), n(b"-12345"), b"-,", b"-,", b"-,",
        n(str(world.admin.id).encode()), n(str(world.admin.id).encode()), b"-,", n(b"live"),
        n(micros), n(micros), n(reason), n("adjust:नेपाली".encode()), n(request), b"-,"])
    assert chain.content(row) == expected
    assert bytes(row["entry_hash"]) == hashlib.sha256(expected).digest()
    assert row["prev_hash"] is None


async def test_entries_written_at_once_on_one_account_still_form_one_chain(
    pool: asyncpg.Pool, world: World
) -> None:
    """The chain is serial per account because each entry is appended under its account's row
    lock: 40 postings racing for one account, and 40 spread over two, chain without a break."""
    async def post(n: int) -> None:
        async with pool.acquire() as c:
            retailer = world.retailer if n % 3 else world.retailer2
            await postings.post(c, Posting(f"race-{n}", retailer.id, world.vendor.id,
                                           "ADJUSTMENT", 100 + n, world.admin.id, "race"))

    await asyncio.gather(*(post(n) for n in range(60)))
    async with pool.acquire() as c:
        result = await check.run(c)
        assert result.ok, result.lines()
        assert result.entries == 60
        assert [b async for b in chain.walk(c, batch=7)] == []


@pytest.mark.breaks_ledger
async def test_a_tampered_entry_is_found_by_the_check_and_by_the_heads(
    conn: asyncpg.Connection, book: Book, su: asyncpg.Connection
) -> None:
    w = book.world
    heads = await chain.heads_of_retailer(conn, w.retailer.id)
    assert [h.vendor_id for h in heads] == [w.vendor.id]
    assert await chain.verify_heads(conn, heads) == []
    changed = await tamper(su, """
        UPDATE ledger_entries SET amount_paisa = amount_paisa - 1,
               balance_after_paisa = balance_after_paisa - 1
        WHERE payment_id = $1 RETURNING id, account_id, account_version""", book.partial)
    line = (f"ledger_entries {changed['id']}: account {changed['account_id']} version "
            f"{changed['account_version']}: its content no longer matches its hash (changed "
            f"after it was written)")
    result = await check.run(conn)
    assert chain_lines(result) == [line]
    problems = await chain.verify_heads(conn, heads)
    assert len(problems) == 1 and problems[0].endswith(line)
    assert problems[0].startswith(f"account {heads[0].account_id} (vendor {w.vendor.id})")


@pytest.mark.breaks_ledger
async def test_only_a_reason_changed_is_found_too(
    conn: asyncpg.Connection, book: Book, su: asyncpg.Connection
) -> None:
    heads = await chain.heads_of_retailer(conn, book.world.retailer2.id)
    assert len(heads) == 2
    changed = await tamper(su, "UPDATE ledger_entries SET reason = 'a gift' WHERE id = $1 "
                               "RETURNING id", book.adjustment)
    result = await check.run(conn)
    assert dict(result.counts) == {check.CHAIN: 1}
    assert chain_lines(result)[0].startswith(f"ledger_entries {changed['id']}: ")
    problems = await chain.verify_heads(conn, heads)
    assert len(problems) == 1 and f"ledger_entries {changed['id']}: " in problems[0]


@pytest.mark.breaks_ledger
async def test_an_entry_deleted_in_the_middle_is_found(
    conn: asyncpg.Connection, book: Book, su: asyncpg.Connection
) -> None:
    heads = await chain.heads_of_retailer(conn, book.world.retailer.id)
    gone = await tamper(su, "DELETE FROM ledger_entries WHERE payment_id = $1 AND "
                            "kind = 'PAYMENT_DEBIT' RETURNING id, account_id, account_version",
                        book.partial)
    after = await conn.fetchrow(
        "SELECT id FROM ledger_entries WHERE account_id = $1 AND account_version = $2",
        gone["account_id"], gone["account_version"] + 1)
    line = (f"ledger_entries {after['id']}: account {gone['account_id']} version "
            f"{gone['account_version'] + 1} follows version {gone['account_version'] - 1}")
    result = await check.run(conn)
    found = chain_lines(result)
    assert len(found) == 1 and found[0].startswith(line) and found[0].endswith("missing")
    problems = await chain.verify_heads(conn, heads)
    assert len(problems) == 1 and line in problems[0]


@pytest.mark.breaks_ledger
async def test_a_chain_rewritten_after_the_change_is_caught_by_the_heads(
    conn: asyncpg.Connection, book: Book, su: asyncpg.Connection
) -> None:
    """A forger who rewrites every hash after the change leaves a chain that holds; the heads a
    report handed out before still catch it."""
    heads = await chain.heads_of_retailer(conn, book.world.retailer.id)
    changed = await tamper(su, "UPDATE ledger_entries SET reason = 'never paid' WHERE "
                               "payment_id = $1 RETURNING account_id", book.paid_in_full)
    async with su.transaction():
        await su.execute("SET LOCAL session_replication_role = replica")
        await reseal(su, changed["account_id"])
    assert (await check.run(conn)).ok
    problems = await chain.verify_heads(conn, heads)
    assert len(problems) == 1
    head = heads[0]
    assert problems[0].startswith(f"account {head.account_id} (vendor {head.vendor_id})")
    assert "its hash is now" in problems[0] and heads[0].hash_hex in problems[0]


async def test_heads_as_of_a_moment_do_not_move_with_later_entries(
    conn: asyncpg.Connection, world: World
) -> None:
    start = datetime(2026, 5, 1, tzinfo=UTC)
    for day in range(3):
        for vendor in (world.vendor, world.vendor2):
            await postings.post(conn, Posting(
                f"h-{day}-{vendor.id}", world.retailer.id, vendor.id, "ADJUSTMENT", 100,
                world.admin.id, "opening"), now=start + timedelta(days=day))
    then = await chain.heads_of_retailer(conn, world.retailer.id,
                                         as_of=start + timedelta(days=1, hours=1))
    assert [(h.vendor_id, h.account_version) for h in then] == [
        (world.vendor.id, 2), (world.vendor2.id, 2)]
    assert [h.account_id for h in then] == sorted(h.account_id for h in then)
    now = await chain.heads_of_retailer(conn, world.retailer.id)
    assert [h.account_version for h in now] == [3, 3]
    assert {h.hash_hex for h in now}.isdisjoint(h.hash_hex for h in then)
    assert await chain.verify_heads(conn, [*then, *now]) == []
    assert await chain.heads_of_retailer(conn, world.retailer.id,
                                         as_of=start - timedelta(days=1)) == []
    assert await chain.heads_of_retailer(conn, world.retailer2.id) == []


async def test_a_head_that_names_no_entry_or_another_hash_is_reported(
    conn: asyncpg.Connection, world: World
) -> None:
    await postings.post(conn, Posting("x", world.retailer.id, world.vendor.id, "ADJUSTMENT",
                                      100, world.admin.id, "opening"))
    (head,) = await chain.heads_of_retailer(conn, world.retailer.id)
    wrong_hash = chain.Head(head.account_id, head.vendor_id, head.entry_id,
                            head.account_version, "00" * 32)
    missing = chain.Head(head.account_id, head.vendor_id, head.entry_id + 1000,
                         head.account_version + 1, head.hash_hex)
    problems = await chain.verify_heads(conn, [wrong_hash, missing])
    assert problems == [
        f"account {head.account_id} (vendor {head.vendor_id}), head entry {head.entry_id} at "
        f"version {head.account_version}: its hash is now {head.hash_hex}, not {'00' * 32}",
        f"account {head.account_id} (vendor {head.vendor_id}), head entry "
        f"{head.entry_id + 1000} at version {head.account_version + 1}: the entry is no longer "
        f"in the ledger",
    ]


async def test_the_migration_chains_the_entries_written_before_it(server_url: str) -> None:
    """A ledger from before migration 020 gets every entry chained, in account order."""
    name = f"khaacho_chain_{os.getpid()}"
    await _admin(server_url, f"DROP DATABASE IF EXISTS {name}",
                 f"CREATE DATABASE {name} OWNER {roles.OWNER_ROLE}")
    conn = await asyncpg.connect(db.as_role(server_url, roles.OWNER_ROLE, ROLE_PASSWORD, name))
    try:
        await conn.execute("""CREATE TABLE schema_migrations (version integer PRIMARY KEY,
            name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())""")
        for m in migrate.available():
            if m.version < 20:
                async with conn.transaction():
                    await conn.execute(m.sql)
                    await conn.execute("INSERT INTO schema_migrations (version, name) "
                                       "VALUES ($1, $2)", m.version, m.name)
        admin = await users.upsert(conn, phone="+9779800000001", name="A", role="ADMIN")
        retailers = [await users.upsert(conn, phone=f"+97798000001{i}", name="R",
                                        role="RETAILER", shop_name="Shop") for i in range(2)]
        vendors = [await users.upsert(conn, phone=f"+97798000002{i}", name="V", role="VENDOR")
                   for i in range(2)]
        for n in range(12):  # interleaved over four accounts
            await postings.post(conn, Posting(
                f"old-{n}", retailers[n % 2].id, vendors[n // 2 % 2].id, "ADJUSTMENT",
                100 * (n + 1), admin.id, f"old {n}"))
        await migrate.migrate(conn)
        rows = await conn.fetch(ENTRIES)
        assert len(rows) == 12 and all(r["entry_hash"] is not None for r in rows)
        assert [b async for b in chain.walk(conn, batch=5)] == []
        assert (await check.run(conn)).ok
        # And the trigger carries on from the backfilled chain.
        entry = await postings.post(conn, Posting(
            "new", retailers[0].id, vendors[0].id, "ADJUSTMENT", 5, admin.id, "new"))
        before = await conn.fetchval(
            "SELECT entry_hash FROM ledger_entries WHERE account_id = $1 AND account_version = $2",
            entry.account_id, entry.account_version - 1)
        assert await conn.fetchval("SELECT prev_hash FROM ledger_entries WHERE id = $1",
                                   entry.id) == before
    finally:
        await conn.close()
        await _admin(server_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
