"""A bank checks a report: the /verify page (upload; genuine or not and why; polite errors for no
file, a file too large, not a PDF), /report-key for verifying offline, and the command line
`khaacho report` and `khaacho report verify`."""

from __future__ import annotations

import asyncio
import io
import os
import sys
from pathlib import Path

import aiohttp
import asyncpg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import SecretStr

from bot import report_doc
from bot.app import create_app
from bot.settings import Settings
from bot.verify_pages import MAX_UPLOAD_BYTES
from ledger import bank_report, db, khata, report_signing, users
from locales.render import Messages
from tests.channel.test_bank_report_files import sample

ROOT = Path(__file__).resolve().parents[2]


async def tamper(su: asyncpg.Connection, sql: str) -> None:
    """One change to ledger_entries past its append-only guard, as a superuser could (the guard
    is back on afterwards); as tests/ledger/test_chain.py does."""
    guard = "ledger_entries_no_update_delete"
    async with su.transaction():
        await su.execute(f"ALTER TABLE ledger_entries DISABLE TRIGGER {guard}")
        assert await su.fetchrow(sql) is not None
        await su.execute(f"ALTER TABLE ledger_entries ENABLE TRIGGER {guard}")


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def keyed(settings: Settings, key: Ed25519PrivateKey, tmp_path: Path) -> Settings:
    return settings.model_copy(update={
        "report_signing_key": SecretStr(report_signing.private_to_text(key)),
        "khaacho_data_dir": tmp_path})


def upload(data: bytes, *, name: str = "report.pdf", field: str = "file") -> aiohttp.FormData:
    form = aiohttp.FormData()
    form.add_field(field, io.BytesIO(data), filename=name, content_type="application/pdf")
    return form


async def test_the_verify_page_says_a_genuine_report_is_genuine_and_what_it_says(
    keyed: Settings, key: Ed25519PrivateKey, aiohttp_client  # type: ignore[no-untyped-def]
) -> None:
    client = await aiohttp_client(create_app(keyed, workers=False))
    form = await client.get("/verify")
    page = await form.text()
    assert form.status == 200 and 'enctype="multipart/form-data"' in page
    assert report_signing.fingerprint(key.public_key()) in page and "<script" not in page
    assert "form-action 'self'" in form.headers["Content-Security-Policy"]
    data = report_doc.pdf(sample(), "en", Messages(), key)
    response = await client.post("/verify", data=upload(data))
    page = await response.text()
    assert response.status == 200
    assert "Genuine and unaltered" in page and "BR-TEST23456X" in page
    assert "राम किराना पसल" in page and "Rs 14,000" in page and "612 (C)" in page
    nepali = await (await client.post("/verify?lang=ne", data=upload(data))).text()
    assert "सक्कली र नबदलिएको" in nepali and "रु १४,०००" in nepali


async def test_the_verify_page_says_an_altered_or_foreign_report_is_not_genuine_and_why(
    keyed: Settings, key: Ed25519PrivateKey, aiohttp_client  # type: ignore[no-untyped-def]
) -> None:
    client = await aiohttp_client(create_app(keyed, workers=False))
    data = report_doc.pdf(sample(), "en", Messages(), key)
    edited = data.replace(b'"owed_paisa":1400000', b'"owed_paisa":1000000', 1)
    response = await client.post("/verify", data=upload(edited))
    page = await response.text()
    assert response.status == 200 and "Not genuine" in page and "changed after" in page
    assert "BR-TEST23456X" not in page  # nothing of an altered file is shown as issued
    other = report_doc.pdf(sample(), "en", Messages(), Ed25519PrivateKey.generate())
    page = await (await client.post("/verify", data=upload(other))).text()
    assert "Not genuine" in page and "another key" in page
    answer = await client.post("/verify", data=upload(edited),
                               headers={"Accept": "application/json"})
    assert answer.status == 200
    body = await answer.json()
    assert (body["genuine"], body["code"], body["content"]) == (False, "altered", None)


async def test_no_file_a_file_too_large_or_not_a_pdf_get_a_polite_answer_and_a_status(
    keyed: Settings, aiohttp_client  # type: ignore[no-untyped-def]
) -> None:
    client = await aiohttp_client(create_app(keyed, workers=False))
    cases = [
        (aiohttp.FormData({"other": "x"}), 400, "No file was uploaded"),
        (upload(b""), 400, "No file was uploaded"),
        (upload(b"%PDF-" + b"0" * (MAX_UPLOAD_BYTES + 1)), 413, "too large"),
        (upload(b"GIF89a not a report", name="cat.gif"), 415, "not a PDF"),
    ]
    for form, status, says in cases:
        response = await client.post("/verify", data=form)
        assert response.status == status, says
        assert says in await response.text()
    plain = await client.post("/verify", data=b"just bytes",
                              headers={"Content-Type": "application/octet-stream"})
    assert plain.status == 400
    answer = await client.post("/verify", data=upload(b"GIF89a"),
                               headers={"Accept": "application/json"})
    assert answer.status == 415 and (await answer.json())["code"] == "not_pdf"


async def test_the_public_key_is_published_to_verify_offline(
    keyed: Settings, key: Ed25519PrivateKey, aiohttp_client  # type: ignore[no-untyped-def]
) -> None:
    client = await aiohttp_client(create_app(keyed, workers=False))
    page = await (await client.get("/report-key")).text()
    fingerprint = report_signing.fingerprint(key.public_key())
    assert fingerprint in page and "BEGIN PUBLIC KEY" in page
    pem = await client.get("/report-key?format=pem")
    assert pem.status == 200 and pem.headers["X-Key-Fingerprint"] == fingerprint
    public = report_signing.public_from_pem(await pem.read())
    data = report_doc.pdf(sample(), "en", Messages(), key)
    assert report_doc.verify_file(data, public).genuine
    css = await client.get("/static/report.css")
    assert css.status == 200 and "text/css" in css.headers["Content-Type"]


async def khaacho(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", *args, cwd=ROOT,
        env={**os.environ, "LOG_LEVEL": "WARNING", "WHATSAPP_ACCESS_TOKEN": "",
             "WHATSAPP_PHONE_NUMBER_ID": "", "MIGRATE_DATABASE_URL": "",
             "REPORT_SIGNING_KEY": "", **env},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def shop_with_history(conn: asyncpg.Connection) -> str:
    vendor = await users.upsert(conn, phone="+9779810000001", name="Bheri", role="VENDOR",
                                shop_name="Bheri Traders")
    assert vendor.phone
    lines = ["date,vendor_phone,retailer_phone,retailer_name,kind,amount,reference\n",
             "2026-03-01,9810000001,9820000001,Ram Kirana,sale,5000,B-1\n",
             "2026-03-20,9810000001,9820000001,,payment,2000,R-1\n"]
    result = await khata.import_book(conn, lines, starter_limit_paisa=1_000_000)
    assert result.ok, result.problems
    return "9820000001"


async def test_the_command_line_writes_a_signed_report_and_verifies_it(
    database_url: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    async with pool.acquire() as conn:
        phone = await shop_with_history(conn)
    env = {"DATABASE_URL": database_url, "KHAACHO_DATA_DIR": str(tmp_path / "data")}
    out = tmp_path / "report.pdf"
    code, said, err = await khaacho(env, "report", "--retailer", phone, "--as-of",
                                    "2026-04-30", "--out", str(out), "--language", "en")
    assert code == 0, err
    assert "Ram Kirana" in said and str(out) in said
    # The key was made on first use, private, and is the one the report is signed with. The
    # history was written after that day: the chain had no head yet then.
    key = report_signing.load_key(None, tmp_path / "data", production=False)
    verdict = report_doc.verify_file(out.read_bytes(), key.public_key())
    assert verdict.genuine and verdict.content is not None
    assert verdict.content["as_of"] == "2026-04-30T18:14:59.999999Z"
    assert verdict.content["dues"]["owed_paisa"] == 300_000
    async with pool.acquire() as conn:
        audit = await conn.fetchrow(
            "SELECT actor_id, subject, reason, details FROM audit_log "
            "WHERE action = 'bank_report.issue'")
    assert audit is not None and audit["reason"] == "command line" and audit["actor_id"] is None
    assert audit["details"]["report_id"] == verdict.content["report_id"]

    code, said, err = await khaacho(env, "report", "verify", str(out))
    assert code == 0, err
    assert "genuine and unaltered" in said and "names none" in said
    again = tmp_path / "again.pdf"
    code, _, err = await khaacho(env, "report", "--retailer", phone, "--out", str(again))
    assert code == 0, err
    now = report_doc.verify_file(again.read_bytes(), key.public_key())  # the same key
    assert now.genuine and now.content is not None and len(now.content["chain"]) == 1
    code, said, err = await khaacho(env, "report", "verify", str(again))
    assert code == 0, err
    assert "all 1 still in the ledger" in said

    data = bytearray(out.read_bytes())
    data[len(data) // 3] ^= 0x20
    flipped = tmp_path / "flipped.pdf"
    flipped.write_bytes(bytes(data))
    code, said, err = await khaacho(env, "report", "verify", str(flipped))
    assert code == 1 and "NOT GENUINE" in err and "altered" in err


async def test_verifying_offline_with_the_public_key_needs_no_database(
    tmp_path: Path, key: Ed25519PrivateKey
) -> None:
    report = tmp_path / "report.pdf"
    report.write_bytes(report_doc.pdf(sample(), "en", Messages(), key))
    pem = tmp_path / "key.pem"
    pem.write_text(report_signing.public_pem(key.public_key()))
    env = {"DATABASE_URL": "postgresql://nobody@127.0.0.1:9/none",
           "KHAACHO_DATA_DIR": str(tmp_path / "data")}
    code, said, err = await khaacho(env, "report", "verify", str(report), "--key", str(pem))
    # The signature holds; the chain heads it names could not be checked, and it says so.
    assert "genuine and unaltered" in said and "BR-TEST23456X" in said
    assert code == 1 and "NOT checked" in err and "database cannot be reached" in err
    other = tmp_path / "other.pem"
    other.write_text(report_signing.public_pem(Ed25519PrivateKey.generate().public_key()))
    code, _, err = await khaacho(env, "report", "verify", str(report), "--key", str(other))
    assert code == 1 and "another key" in err


async def test_report_without_its_arguments_or_for_an_unknown_phone_says_what_is_wrong(
    database_url: str, tmp_path: Path
) -> None:
    env = {"DATABASE_URL": database_url, "KHAACHO_DATA_DIR": str(tmp_path)}
    code, _, err = await khaacho(env, "report", "--retailer", "9800000099")
    assert code == 2 and "--out" in err
    code, _, err = await khaacho(env, "report", "--retailer", "9800000099", "--out",
                                 str(tmp_path / "x.pdf"))
    assert code == 2 and "no retailer" in err
    code, _, err = await khaacho(env, "report", "--retailer", "9800000099", "--out",
                                 str(tmp_path / "x.pdf"), "--as-of", "2999-01-01")
    assert code == 2 and "future" in err
    code, _, err = await khaacho(env, "report", "verify", str(tmp_path / "missing.pdf"))
    assert code == 2 and "cannot read" in err


async def test_a_genuine_report_whose_ledger_entry_was_changed_since_says_so(
    database_url: str, pool: asyncpg.Pool, superuser_url: str, tmp_path: Path,
    keyed: Settings, key: Ed25519PrivateKey, aiohttp_client  # type: ignore[no-untyped-def]
) -> None:
    async with pool.acquire() as conn:
        phone = await shop_with_history(conn)
        retailer = await users.by_phone(conn, "+977" + phone)
        assert retailer is not None
        report = await bank_report.build(conn, None, retailer.id)
    assert len(report.heads) == 1
    out = tmp_path / "report.pdf"
    out.write_bytes(report_doc.pdf(bank_report.content(report), "en", Messages(), key))
    client = await aiohttp_client(create_app(keyed, workers=False))
    page = await (await client.post("/verify", data=upload(out.read_bytes()))).text()
    assert "Genuine and unaltered" in page and "All 1 chain heads are still" in page

    su = await db.connect(superuser_url)
    try:
        await tamper(su, "UPDATE ledger_entries SET amount_paisa = 400000, "
                         "balance_after_paisa = 400000 WHERE account_version = 1 RETURNING id")
    finally:
        await su.close()
    page = await (await client.post("/verify", data=upload(out.read_bytes()))).text()
    assert "Genuine and unaltered" in page  # the file is still what was issued …
    assert "no longer match the ledger" in page and "changed after it was written" in page
    env = {"DATABASE_URL": database_url, "KHAACHO_DATA_DIR": str(tmp_path),
           "REPORT_SIGNING_KEY": report_signing.private_to_text(key)}
    code, said, err = await khaacho(env, "report", "verify", str(out))
    assert "genuine and unaltered" in said  # … but the ledger behind it is not
    assert code == 1 and "chain head no longer in the ledger" in err
