"""`khaacho backup` and `khaacho restore` against the real test server, with its own pg_dump and
pg_restore: the demo town after chats, orders and payments comes back row for row; a dump that
is corrupt or cut short, or a database that is not empty, is refused and nothing is written; the
manifest is read in the snapshot the dump is taken in."""

from __future__ import annotations

import itertools
import json
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from bot import backup_cli, demo
from ledger import check, db, orders, payments, roles, users
from ledger.pricing import LineRequest
from ledger.users import User
from tests.conftest import ROLE_PASSWORD, khaacho
from tests.dialogs.conftest import World

_names = itertools.count()
RAM, SITA, HARI = "+9779820000001", "+9779820000002", "+9779820000003"
ADMIN = "+9779800000001"


@pytest.fixture
async def new_database(server_url: str, template_db: str) -> AsyncIterator[str]:
    """An empty database owned by the owner role, as a managed PostgreSQL gives one; its
    owner's URL (`template_db`: the roles exist by then)."""
    name = f"khaacho_restore_{os.getpid()}_{next(_names)}"
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(f"CREATE DATABASE {name} OWNER {roles.OWNER_ROLE}")
    finally:
        await conn.close()
    yield db.as_role(server_url, roles.OWNER_ROLE, ROLE_PASSWORD, name)
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    finally:
        await conn.close()


def env_of(database_url: str, owner_url: str) -> dict[str, str]:
    return {"DATABASE_URL": database_url, "MIGRATE_DATABASE_URL": owner_url}


async def _user(conn: asyncpg.Connection, phone: str) -> User:
    found = await users.by_phone(conn, phone)
    assert found is not None, phone
    return found


async def sale(pool: asyncpg.Pool, phone: str, sku: str, kg: int, *, paid: int,
               key: str, deliver: bool = True) -> None:
    """An order placed, accepted by the vendor it was offered to, delivered, and `paid` paisa of
    it recorded by the admin: through the services, as chat and the web do."""
    async with pool.acquire() as conn:
        retailer, admin = await _user(conn, phone), await _user(conn, ADMIN)
        draft = await orders.create_draft(conn, retailer, [LineRequest(sku, kg * 1000, "kg")])
        placed = await orders.confirm(conn, draft.id, retailer)
        vendor = await users.by_id(conn, placed.order.vendor_id)  # type: ignore[arg-type]
        assert vendor is not None, placed
        order = await orders.accept(conn, draft.id, vendor)
        if deliver:
            await orders.deliver(conn, order.id, vendor)
        if paid:
            await payments.record(conn, retailer_id=retailer.id, vendor_id=vendor.id,
                                  amount_paisa=paid, method="cash", actor=admin,
                                  idempotency_key=key)


async def every_row(url: str) -> dict[str, list[str]]:
    """Every table's rows as text (sorted), and every sequence's position."""
    conn = await db.connect(url)
    try:
        found: dict[str, list[str]] = {}
        for table in [r["relname"] for r in await conn.fetch(
                """SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace
                   AND relkind = 'r' ORDER BY relname""")]:
            found[table] = sorted(await conn.fetchval(
                f'SELECT COALESCE(array_agg(t::text), ARRAY[]::text[]) FROM "{table}" t'))
        for seq in [r["relname"] for r in await conn.fetch(
                """SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace
                   AND relkind = 'S' ORDER BY relname""")]:
            found["sequence " + seq] = [str(await conn.fetchval(
                f'SELECT last_value FROM "{seq}"'))]
        return found
    finally:
        await conn.close()


async def _town_with_chats_orders_and_payments(client, graph, pool) -> None:  # type: ignore[no-untyped-def]
    async with pool.acquire() as conn:
        await demo.load(conn)
    world = World(client, graph, pool)
    ram = world.phone(RAM.lstrip("+"))
    await ram.say("chini 1 bora")
    placed = await ram.say("ho")
    assert any("KH-000001" in s.text for s in placed), [s.text for s in placed]
    async with pool.acquire() as conn:
        vendor = await users.by_id(conn, await conn.fetchval(
            "SELECT vendor_id FROM orders WHERE number = 'KH-000001'"))
    assert vendor is not None
    seller = world.phone(vendor.phone.lstrip("+"))
    await seller.tap("order:accept:KH-000001")
    await seller.say("paid KH-000001 1000")
    await seller.tap("order:deliver:KH-000001")
    await sale(pool, SITA, "SUGAR", 5, paid=20_000, key="backup:1")
    await sale(pool, HARI, "SUGAR", 2, paid=0, key="backup:2", deliver=False)
    await sale(pool, SITA, "SUGAR", 3, paid=10_000, key="backup:3")
    await world.settle()


async def test_the_demo_town_restored_into_a_new_database_is_equal_row_for_row(
        client, graph, pool, database_url, owner_url, new_database, tmp_path):
    await _town_with_chats_orders_and_payments(client, graph, pool)
    env = env_of(database_url, owner_url)

    code, out, err = await khaacho(env, "backup", "--out", str(tmp_path))
    assert code == 0, err
    dumps = sorted(tmp_path.glob("khaacho-*.dump"))
    assert len(dumps) == 1 and str(dumps[0]) in out
    manifest = json.loads(backup_cli.manifest_path(dumps[0]).read_text("utf-8"))
    assert manifest["dump"]["sha256"] in out
    assert oct(dumps[0].stat().st_mode & 0o777) == "0o600"
    async with pool.acquire() as conn:
        assert manifest["row_counts"]["ledger_entries"] == await conn.fetchval(
            "SELECT count(*) FROM ledger_entries") >= 6
        assert manifest["migrations"] == sorted(
            await conn.fetchval("SELECT array_agg(version) FROM schema_migrations"))
        heads = {h["account_id"]: h["hash"] for h in manifest["chain_heads"]}
        assert heads == {r["account_id"]: bytes(r["entry_hash"]).hex() for r in await conn.fetch(
            """SELECT DISTINCT ON (account_id) account_id, entry_hash FROM ledger_entries
               ORDER BY account_id, account_version DESC""")}
        assert len(heads) == 3  # Ram's and Sita's accounts with their vendors, Hari's
    assert manifest["khaacho_version"] and manifest["taken_at"].endswith("Z")

    code, out, err = await khaacho(env, "restore", str(dumps[0]), "--into", new_database)
    assert code == 0, (out, err)
    assert "each as it says" in out and "ledger consistent" in out
    assert "app role khaacho_app: granted" in out

    source, restored = await every_row(owner_url), await every_row(new_database)
    assert source.keys() == restored.keys()
    for table in source:
        assert source[table] == restored[table], table
    for table in ("ledger_accounts", "ledger_entries", "payments", "inbound_messages", "outbox",
                  "conversations", "orders", "order_transitions"):
        assert source[table], f"{table} is empty: the comparison would prove nothing"

    # The app runs on it as its own role: it may write as its services do, chained on from the
    # restored heads, and no more (the privileges came back, not the owner's).
    app_url = db.as_role(new_database, roles.APP_ROLE, ROLE_PASSWORD)
    restored_pool = await db.create_pool(app_url, min_size=1, max_size=2)
    try:
        await sale(restored_pool, HARI, "SUGAR", 1, paid=5_000, key="after-restore")
        async with restored_pool.acquire() as conn:
            assert (await check.run(conn)).ok
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute("DELETE FROM ledger_entries")
            assert await conn.fetchval("SELECT current_user") == roles.APP_ROLE
            owner = await conn.fetchval(
                "SELECT relowner::regrole::text FROM pg_class WHERE relname = 'ledger_entries'")
            assert owner == roles.OWNER_ROLE
    finally:
        await restored_pool.close()


async def test_a_write_during_the_backup_is_in_neither_the_dump_nor_the_manifest(
        pool, database_url, owner_url, new_database, tmp_path):
    async with pool.acquire() as conn:
        await demo.load(conn)
    await sale(pool, RAM, "SUGAR", 2, paid=10_000, key="before")

    async def meanwhile() -> None:  # after the snapshot, before pg_dump starts
        await sale(pool, SITA, "SUGAR", 4, paid=30_000, key="during")
        await sale(pool, RAM, "SUGAR", 1, paid=5_000, key="during:2")

    done = await backup_cli.backup(owner_url, tmp_path, on_snapshot=meanwhile)
    async with pool.acquire() as conn:
        live = await conn.fetchval("SELECT count(*) FROM ledger_entries")
        live_heads = {r["account_id"]: r["v"] for r in await conn.fetch(
            "SELECT account_id, max(account_version) AS v FROM ledger_entries GROUP BY 1")}
    assert done.state.row_counts["ledger_entries"] < live
    assert {h.account_id: h.account_version for h in done.state.chain_heads} != live_heads

    restored = await backup_cli.restore(done.dump, new_database, app_role=roles.APP_ROLE)
    assert restored.ok, restored.lines
    conn = await db.connect(new_database)
    try:
        assert await conn.fetchval("SELECT count(*) FROM ledger_entries") == (
            done.state.row_counts["ledger_entries"])
        assert await conn.fetchval(
            "SELECT count(*) FROM payments WHERE idempotency_key LIKE 'during%'") == 0
    finally:
        await conn.close()


async def _backed_up(pool: asyncpg.Pool, owner_url: str, out: Path) -> backup_cli.Backup:
    async with pool.acquire() as conn:
        await demo.load(conn)
    await sale(pool, RAM, "SUGAR", 2, paid=10_000, key="k1")
    return await backup_cli.backup(owner_url, out)


async def _tables(url: str) -> int:
    conn = await db.connect(url)
    try:
        return int(await conn.fetchval(
            "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace"))
    finally:
        await conn.close()


async def test_a_corrupt_or_truncated_dump_is_refused_and_nothing_is_written(
        pool, database_url, owner_url, new_database, tmp_path):
    done = await _backed_up(pool, owner_url, tmp_path / "good")
    env = env_of(database_url, owner_url)
    whole = done.dump.read_bytes()
    flipped = bytearray(whole)
    for at in (len(whole) // 3, len(whole) // 2):
        flipped[at] ^= 0xFF
    for name, content in (("flipped", bytes(flipped)), ("truncated", whole[: len(whole) // 2])):
        bad = tmp_path / name / done.dump.name
        bad.parent.mkdir()
        bad.write_bytes(content)
        shutil.copy(done.manifest, backup_cli.manifest_path(bad))
        code, out, err = await khaacho(env, "restore", str(bad), "--into", new_database)
        assert code == 2, (name, out, err)
        assert len(err.strip().splitlines()) == 1, err
        assert "corrupt or truncated" in err and "nothing was restored" in err, err
        assert await _tables(new_database) == 0, name

    alone = tmp_path / "alone" / done.dump.name
    alone.parent.mkdir()
    shutil.copy(done.dump, alone)
    code, _, err = await khaacho(env, "restore", str(alone), "--into", new_database)
    assert code == 2 and "no manifest" in err, err
    code, _, err = await khaacho(env, "restore", str(tmp_path / "nothing.dump"),
                                 "--into", new_database)
    assert code == 2 and "no such file" in err, err
    assert await _tables(new_database) == 0

    # The good one, named by its manifest, still restores; a second time is refused.
    code, out, err = await khaacho(env, "restore", str(done.manifest), "--into", new_database)
    assert code == 0, (out, err)


async def test_a_database_that_is_not_empty_is_refused(
        pool, database_url, owner_url, tmp_path):
    done = await _backed_up(pool, owner_url, tmp_path)
    before = await every_row(owner_url)
    code, _, err = await khaacho(env_of(database_url, owner_url), "restore", str(done.dump),
                                 "--into", owner_url)
    assert code == 2, err
    assert "is not empty" in err and "public." in err and "nothing was restored" in err
    assert await every_row(owner_url) == before


async def test_a_restored_database_that_disagrees_with_its_manifest_exits_1(
        pool, database_url, owner_url, new_database, tmp_path):
    done = await _backed_up(pool, owner_url, tmp_path)
    # A manifest that claims one more entry than the dump holds (and its checksum still right):
    # the restore goes through, and the comparison says where it differs.
    document = json.loads(done.manifest.read_text("utf-8"))
    document["row_counts"]["ledger_entries"] += 1
    done.manifest.write_text(json.dumps(document), "utf-8")
    code, out, err = await khaacho(env_of(database_url, owner_url), "restore", str(done.dump),
                                   "--into", new_database)
    assert code == 1, (out, err)
    entries = document["row_counts"]["ledger_entries"]
    assert f"table ledger_entries: {entries - 1} rows, the manifest says {entries}" in out
    assert "does not match the backup" in err


async def test_no_pg_dump_of_the_servers_version_is_said_plainly():
    with pytest.raises(backup_cli.BackupError) as refused:
        await backup_cli.find_tool("pg_dump", 99)
    assert "no pg_dump of PostgreSQL 99" in str(refused.value)
    assert "postgresql-client-99" in str(refused.value)


def test_the_password_goes_to_the_environment_not_the_command_line():
    url, env = backup_cli.libpq("postgresql://owner:s%40cret@db.example:5432/khaacho?sslmode=require")
    assert url == "postgresql://owner@db.example:5432/khaacho?sslmode=require"
    assert env["PGPASSWORD"] == "s@cret"


async def test_a_backup_that_cannot_be_taken_says_why_in_one_line_and_leaves_nothing(
        database_url, owner_url, tmp_path):
    gone = db.as_role(owner_url, roles.OWNER_ROLE, ROLE_PASSWORD, "khaacho_no_such_database")
    code, out, err = await khaacho(env_of(database_url, gone), "backup", "--out", str(tmp_path))
    assert code == 2, (out, err)
    assert len(err.strip().splitlines()) == 1 and "could not connect" in err, err
    assert list(tmp_path.iterdir()) == []
