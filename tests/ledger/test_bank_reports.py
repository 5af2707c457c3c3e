"""Bank reports as a service: only the retailer's own consent issues one, its content frozen then;
the link opens it for BANK_REPORT_DAYS, every opening logged; revocation is once, by the retailer
or staff; the database keeps what was agreed to and never the token."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from ledger import audit, bank_report, bank_reports
from ledger.errors import (
    AlreadyDone,
    BankReportNotFound,
    InvalidInstitution,
    NotPermitted,
    TooManyBankReports,
)
from tests.ledger.conftest import World, line
from tests.ledger.helpers import accepted_order

T0 = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)


async def _issue(conn: asyncpg.Connection, world: World, name: str = "NIC Asia Bank",
                 now: datetime = T0) -> bank_reports.Issued:
    return await bank_reports.issue(conn, world.retailer, institution=name, language="en",
                                    now=now)


async def _open(conn: asyncpg.Connection, token: str, now: datetime,
                kind: bank_reports.ViewKind = "page") -> bank_reports.Opened:
    return await bank_reports.open_link(conn, token, kind=kind, client_address="203.0.113.7",
                                        user_agent="Mozilla/5.0 (Linux; Android 14)", now=now)


async def test_only_a_retailer_issues_a_report_and_only_their_own(conn, world):
    for someone in (world.vendor, world.admin, world.operator):
        with pytest.raises(NotPermitted):
            await bank_reports.issue(conn, someone, institution="NIC Asia", language="en")
    issued = await _issue(conn, world)
    assert issued.report.retailer_id == world.retailer.id
    assert issued.report.expires_at - issued.report.consented_at == timedelta(days=7)
    assert bank_reports.well_formed(issued.token) and len(issued.token) == 43
    row = await conn.fetchrow("SELECT * FROM bank_reports WHERE id = $1", issued.report.id)
    assert issued.token.encode() not in bytes(row["token_sha256"])
    assert issued.token not in str(dict(row)), "the token itself is never stored"
    assert bytes(row["token_sha256"]) == bank_reports.token_hash(issued.token)
    consent = await conn.fetchrow(
        "SELECT * FROM audit_log WHERE action = 'bank_report.consent' AND subject = $1",
        issued.report.public_id)
    assert consent is not None and consent["actor_id"] == world.retailer.id
    assert consent["details"]["institution"] == "NIC Asia Bank"
    assert audit  # the consent went through ledger.audit, the only writer of audit_log


@pytest.mark.parametrize("typed, reason", [
    ("", "empty"), ("   ", "empty"), ("x" * 81, "too_long"), ("12345", "no_letters"),
    ("🏦🏦🏦", "no_letters"), ("9851012345", "no_letters"), ("A", "no_letters"),
])
def test_the_institution_must_be_a_name(typed, reason):
    with pytest.raises(InvalidInstitution) as refused:
        bank_reports.clean_institution(typed)
    assert refused.value.params["reason"] == reason


def test_the_institution_is_kept_as_typed_trimmed():
    assert bank_reports.clean_institution("  NIC   Asia\tBank ") == "NIC Asia Bank"
    assert bank_reports.clean_institution("नेपाल बैंक लिमिटेड") == "नेपाल बैंक लिमिटेड"
    assert bank_reports.clean_institution("x" * 80) == "x" * 80


async def test_the_link_opens_the_report_and_every_view_is_logged(conn, world):
    issued = await _issue(conn, world)
    first = await _open(conn, issued.token, T0 + timedelta(hours=1))
    again = await _open(conn, issued.token, T0 + timedelta(hours=2), kind="pdf")
    assert first.outcome == again.outcome == "shown"
    assert first.first_view and not again.first_view
    assert first.content == again.content and first.content
    logged = await bank_reports.views(conn, world.retailer, issued.report.public_id)
    assert [(v["kind"], v["outcome"], v["client_address"]) for v in logged] == [
        ("page", "shown", "203.0.113.7"), ("pdf", "shown", "203.0.113.7")]
    assert logged[0]["user_agent"].startswith("Mozilla/5.0")
    [listed] = await bank_reports.listed(conn, world.retailer, world.retailer.id,
                                         now=T0 + timedelta(hours=3))
    assert listed.views == 2 and listed.last_viewed_at == T0 + timedelta(hours=2)


async def test_unknown_and_malformed_tokens_are_not_found(conn, world):
    issued = await _issue(conn, world)
    for token in ("", "abc", issued.token[:-1], issued.token + "A", "../" + issued.token[3:],
                  "A" * 43):
        with pytest.raises(BankReportNotFound):
            await _open(conn, token, T0)
    assert await conn.fetchval("SELECT count(*) FROM bank_report_views") == 0


async def test_a_link_expires_after_seven_days_and_attempts_are_logged_without_content(
        conn, world):
    issued = await _issue(conn, world)
    last = await _open(conn, issued.token, T0 + timedelta(days=7) - timedelta(seconds=1))
    assert last.outcome == "shown"
    late = await _open(conn, issued.token, T0 + timedelta(days=7))
    assert late.outcome == "expired" and late.content == {} and not late.first_view
    outcomes = [v["outcome"] for v in
                await bank_reports.views(conn, world.retailer, issued.report.public_id)]
    assert outcomes == ["shown", "expired"]
    assert await bank_reports.listed(conn, world.retailer, world.retailer.id,
                                     now=T0 + timedelta(days=8)) == []


async def test_revoked_once_by_its_retailer_then_the_link_is_gone(conn, world):
    issued = await _issue(conn, world)
    ref = issued.report.public_id
    with pytest.raises(BankReportNotFound):
        await bank_reports.revoke(conn, world.retailer2, ref)
    with pytest.raises(NotPermitted):
        await bank_reports.revoke(conn, world.vendor, ref)
    revoked = await bank_reports.revoke(conn, world.retailer, ref, now=T0 + timedelta(hours=1))
    assert revoked.revoked_by == world.retailer.id
    with pytest.raises(AlreadyDone):
        await bank_reports.revoke(conn, world.retailer, ref)
    tried = await _open(conn, issued.token, T0 + timedelta(hours=2))
    assert tried.outcome == "revoked" and tried.content == {}
    assert await conn.fetchval(
        "SELECT count(*) FROM audit_log WHERE action = 'bank_report.revoke' AND subject = $1",
        ref) == 1


async def test_staff_may_list_and_revoke_for_support_and_vendors_may_not(conn, world):
    issued = await _issue(conn, world)
    with pytest.raises(NotPermitted):
        await bank_reports.listed(conn, world.vendor, world.retailer.id)
    with pytest.raises(NotPermitted):
        await bank_reports.listed(conn, world.retailer2, world.retailer.id)
    [seen] = await bank_reports.listed(conn, world.operator, world.retailer.id, now=T0)
    assert seen.public_id == issued.report.public_id
    revoked = await bank_reports.revoke(conn, world.operator, seen.public_id,
                                        reason="the shop asked on the phone")
    assert revoked.revoked_by == world.operator.id


async def test_a_retailer_holds_at_most_ten_live_reports(conn, world):
    for n in range(bank_reports.MAX_LIVE):
        await _issue(conn, world, f"Bank {n}", now=T0 + timedelta(minutes=n))
    with pytest.raises(TooManyBankReports):
        await _issue(conn, world, "One Too Many", now=T0 + timedelta(hours=1))
    [oldest] = [r for r in await bank_reports.listed(conn, world.retailer, world.retailer.id,
                                                     now=T0 + timedelta(hours=1))
                if r.institution == "Bank 0"]
    await bank_reports.revoke(conn, world.retailer, oldest.public_id)
    await _issue(conn, world, "Now Fits", now=T0 + timedelta(hours=1))
    # Expired ones do not count either.
    later = T0 + timedelta(days=8)
    await _issue(conn, world, "After Expiry", now=later)


async def test_the_report_is_frozen_at_consent(conn, world):
    issued = await _issue(conn, world, now=datetime.now(UTC) - timedelta(minutes=5))
    agreed = await conn.fetchval("SELECT content FROM bank_reports WHERE id = $1",
                                 issued.report.id)
    await accepted_order(conn, world.retailer, world.vendor, [line("TEL", 10, "l")])
    opened = await _open(conn, issued.token, datetime.now(UTC))
    assert opened.content == agreed and agreed["dues"]["owed_paisa"] == 0
    now = bank_report.content(await bank_report.build(conn, world.retailer, world.retailer.id))
    assert now["dues"]["owed_paisa"] == 10 * 24000 > 0  # the ledger moved on; the report did not
    assert opened.content["vendors"] == [] and now["vendors"] != []


async def test_what_was_agreed_cannot_be_changed_in_the_database(conn, world, owner_conn):
    issued = await _issue(conn, world)
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await conn.execute("UPDATE bank_reports SET content = '{}' WHERE id = $1",
                           issued.report.id)
    with pytest.raises(asyncpg.RaiseError, match="what the retailer agreed to is kept"):
        await owner_conn.execute(
            "UPDATE bank_reports SET institution = 'Someone Else' WHERE id = $1",
            issued.report.id)
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await conn.execute("DELETE FROM bank_reports WHERE id = $1", issued.report.id)
    await bank_reports.revoke(conn, world.retailer, issued.report.public_id)
    with pytest.raises(asyncpg.RaiseError, match="revoked once"):
        await owner_conn.execute("UPDATE bank_reports SET revoked_at = now() WHERE id = $1",
                                 issued.report.id)
