"""The `khaacho` command line, run as a real process against the test database."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from ledger import credit, stock, users
from tests.conftest import ROOT


async def khaacho(database_url: str, *args: str, stdin: str = "") -> tuple[int, str, str]:
    env = {**os.environ, "DATABASE_URL": database_url, "LOG_LEVEL": "WARNING",
           "WHATSAPP_ACCESS_TOKEN": "", "WHATSAPP_PHONE_NUMBER_ID": "",
           "MIGRATE_DATABASE_URL": ""}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", *args, cwd=ROOT, env=env,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(stdin.encode()), 120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_user_add_stores_e164_and_retailer_limit(database_url, pool):
    code, out, _ = await khaacho(database_url, "user", "add", "--role", "retailer",
                                 "--phone", "9812345678", "--name", "Ram", "--shop", "Ram Kirana",
                                 "--credit-limit", "50,000")
    assert code == 0, out
    async with pool.acquire() as conn:
        row = await conn.fetchrow(
            """SELECT u.phone, u.role, r.credit_limit_paisa FROM users u
               JOIN retailers r ON r.user_id = u.id""")
    assert tuple(row) == ("+9779812345678", "RETAILER", 5_000_000)


async def test_bad_arguments_get_a_clear_message_and_a_non_zero_exit(database_url):
    for args, says in (
        (("user", "add", "--role", "KING", "--phone", "9812345678", "--name", "x"),
         "invalid choice"),
        (("user", "add", "--role", "VENDOR", "--phone", "12", "--name", "x"), "not a phone number"),
        (("user", "add", "--role", "RETAILER", "--phone", "9812345678", "--name", "x",
          "--credit-limit", "lots"), "not an amount"),
        (("user", "add", "--role", "RETAILER", "--phone", "9812345678", "--name", "x",
          "--credit-limit", "10,00,00,00,00,000"), "at most 100,000,000,000"),
        (("user", "add", "--role", "VENDOR", "--phone", "+1 234 567 890", "--name", "x"),
         "not a phone number"),
        (("user", "add", "--role", "VENDOR", "--phone", "9812345678", "--name", "x",
          "--credit-limit", "100"), "for retailers"),
        (("catalog", "import", "/no/such/file.csv"), "no such file"),
    ):
        code, _, err = await khaacho(database_url, *args)
        assert code != 0, args
        assert says in err, (args, err)


async def test_catalog_import_names_line_and_field_and_changes_nothing(
        database_url, pool, tmp_path):
    good = (ROOT / "catalog" / "data" / "catalog.csv").read_text("utf-8").splitlines()
    bad = good[:3] + [good[3].replace(",kg,", ",furlongs,", 1)] + good[4:]
    path = Path(tmp_path) / "bad.csv"
    path.write_text("\n".join(bad) + "\n", "utf-8")
    code, _, err = await khaacho(database_url, "catalog", "import", str(path))
    assert code == 1
    assert "line 4" in err and "unit" in err
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM products") == 0


async def test_catalog_import_with_a_vendor_sets_prices_and_stock(database_url, pool):
    assert (await khaacho(database_url, "user", "add", "--role", "VENDOR", "--phone",
                          "9811111111", "--name", "Bheri Traders"))[0] == 0
    code, out, err = await khaacho(database_url, "catalog", "import",
                                   str(ROOT / "catalog" / "data" / "catalog.csv"),
                                   "--vendor", "+9779811111111", "--stock", "100")
    assert code == 0, err
    async with pool.acquire() as conn:
        products = await conn.fetchval("SELECT count(*) FROM products")
        stock = await conn.fetchval("SELECT DISTINCT stock_milli FROM vendor_products")
        carried = await conn.fetchval("SELECT count(*) FROM vendor_products")
    assert products == carried > 50 and stock == 100_000
    assert f"imported {products} products" in out


async def test_demo_is_idempotent_and_prints_the_phones(database_url, pool):
    for _ in range(2):
        code, out, err = await khaacho(database_url, "demo")
        assert code == 0, err
    assert "+9779820000001" in out and "khaacho chat --as" in out
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM users WHERE role = 'RETAILER'") == 5
        assert await conn.fetchval("SELECT count(*) FROM users WHERE role = 'ADMIN'") == 1


async def test_terminal_chat_goes_through_the_whole_pipeline(database_url, pool):
    code, out, err = await khaacho(database_url, "chat", "--as", "9822222222",
                                   stdin="hello\nनमस्ते\n")
    assert code == 0, err
    assert out.count("bot> ") == 2
    async with pool.acquire() as conn:
        assert await conn.fetchval(
            "SELECT count(*) FROM inbound_messages WHERE handled_at IS NOT NULL") == 2
        assert await conn.fetchval("SELECT count(*) FROM outbox WHERE status = 'sent'") == 2


async def test_demo_again_keeps_what_people_changed_and_adds_only_what_is_missing(
        database_url, pool, owner_conn):
    code, out, err = await khaacho(database_url, "demo")
    assert code == 0, err
    assert "added 10 people" in out
    async with pool.acquire() as conn:
        admin = await users.by_phone(conn, "+9779800000001")
        sita = await users.by_phone(conn, "+9779820000002")
        karnali = await users.by_phone(conn, "+9779810000002")
        assert admin and sita and karnali
        await credit.set_limit(conn, sita.id, 7_500_00, admin, "pays late")
        await stock.set_offer(conn, karnali, "SUGAR", price_paisa=123_45, stock_milli=7_000)
        await users.set_language(conn, sita.id, "ne")
    # A vendor's product that went missing (say, a new catalog line) is added again. The app
    # never deletes one: only the owner can.
    await owner_conn.execute(
        "DELETE FROM vendor_products WHERE vendor_id = $1 AND sku = 'SALT-IODIZED'", karnali.id)
    code, out, err = await khaacho(database_url, "demo")
    assert code == 0, err
    assert "added 0 people, 0 products and 1 vendor prices" in out, out
    async with pool.acquire() as conn:
        assert (await credit.position(conn, sita.id)).limit_paisa == 7_500_00
        offers = {o.sku: o for o in await stock.offers(conn, karnali.id)}
        assert (offers["SUGAR"].price_paisa, offers["SUGAR"].stock_milli) == (12345, 7000)
        assert "SALT-IODIZED" in offers
        again = await users.by_phone(conn, "+9779820000002")
        assert again and again.language == "ne" and again.role == "RETAILER"


async def test_score_prints_a_json_line_per_retailer_as_of_a_day(database_url, pool):
    from datetime import UTC, datetime, timedelta

    from ledger import orders, payments
    from ledger.pricing import LineRequest

    code, _, err = await khaacho(database_url, "demo")
    assert code == 0, err
    start = datetime(2025, 1, 10, 6, tzinfo=UTC)
    async with pool.acquire() as conn:
        ram = await users.by_phone(conn, "+9779820000001")
        admin = await users.by_phone(conn, "+9779800000001")
        assert ram is not None and admin is not None
        for i in range(7):
            at = start + timedelta(days=20 * i)
            draft = await orders.create_draft(conn, ram, [LineRequest("SUGAR", 5000, "kg")])
            placed = await orders.confirm(conn, draft.id, ram, now=at)
            vendor = await users.by_id(conn, placed.order.vendor_id)
            order = await orders.accept(conn, draft.id, vendor, now=at)
            await payments.record(conn, retailer_id=ram.id, vendor_id=vendor.id,
                                  amount_paisa=order.total_paisa, method="cash", actor=admin,
                                  idempotency_key=f"cli:{i}", now=order.due_at)
    code, out, err = await khaacho(database_url, "score", "--as-of", "2025-06-30", "--json")
    assert code == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert len(lines) == 5 and all(set(x) == {"phone", "score", "band", "reason", "factors"}
                                   for x in lines)
    mine = next(x for x in lines if x["phone"] == "+9779820000001")
    assert 300 <= mine["score"] <= 900 and mine["band"] in "ABCDE" and mine["reason"] is None
    assert {"key", "points", "en", "ne"} == set(mine["factors"][0])
    others = [x for x in lines if x["phone"] != "+9779820000001"]
    assert all(x["score"] is None and x["band"] is None and x["reason"] for x in others)
    # As of a day before most of it happened: too little history, and it says so.
    code, out, _ = await khaacho(database_url, "score", "--as-of", "2025-02-01", "--json",
                                 "--phone", "9820000001")
    assert code == 0 and json.loads(out)["score"] is None and "history" in json.loads(out)["reason"]
    code, out, _ = await khaacho(database_url, "score", "--phone", "9820000001")
    assert code == 0 and "Ram Kirana Pasal" in out
    code, _, err = await khaacho(database_url, "score", "--phone", "9810000001")
    assert code == 2 and "no retailer" in err
    code, _, err = await khaacho(database_url, "score", "--as-of", "2025-13-01")
    assert code == 2 and "YYYY-MM-DD" in err


async def test_analytics_refresh_recomputes_the_days_with_orders_and_full_again(
        database_url, pool):
    from datetime import UTC, datetime

    from ledger import orders
    from ledger.pricing import LineRequest

    code, _, err = await khaacho(database_url, "demo")
    assert code == 0, err
    async with pool.acquire() as conn:
        ram = await users.by_phone(conn, "+9779820000001")
        assert ram is not None
        draft = await orders.create_draft(conn, ram, [LineRequest("SUGAR", 5000, "kg")])
        await orders.confirm(conn, draft.id, ram, now=datetime(2026, 11, 10, 4, tzinfo=UTC))
    code, out, err = await khaacho(database_url, "analytics", "refresh")
    assert code == 0, err
    assert "1 days recomputed (2026-11-10 to 2026-11-10)" in out
    code, out, err = await khaacho(database_url, "analytics", "refresh", "--full")
    assert code == 0, err
    assert "1 days recomputed" in out
    async with pool.acquire() as conn:
        assert await conn.fetchval(
            "SELECT orders FROM analytics_orders WHERE vendor_id IS NULL AND area IS NULL") == 1
