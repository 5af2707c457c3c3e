"""Bank reports a retailer chose to share: issued only on their consent, opened by a secret link
for `days` days, every opening logged, revocable by the retailer (and by staff, for support).

The link's token is 256 bits from `secrets.token_urlsafe(32)`: it is the only credential a bank
officer holds, so it cannot be guessed (2^256 tries); the database keeps only its SHA-256, so a
copy of the database opens nothing. The report's content is built and frozen at consent
(`ledger.bank_report.content`): the bank reads what the retailer agreed to share, not what the
ledger says later.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import asyncpg

from ledger import audit, bank_report
from ledger.actors import Actor, is_staff
from ledger.errors import (
    AlreadyDone,
    BankReportNotFound,
    InvalidInstitution,
    NotPermitted,
    TooManyBankReports,
)
from locales import Language

DEFAULT_DAYS = 7
MAX_DAYS = 90          # the table's bound too
MAX_LIVE = 10          # live (not expired, not revoked) reports one retailer may hold
INSTITUTION_MIN, INSTITUTION_MAX = 2, 80
USER_AGENT_MAX = 200
ADDRESS_MAX = 64
TOKEN_BYTES = 32
# token_urlsafe(32): 43 characters of the URL-safe base64 alphabet, nothing else.
TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")
PUBLIC_ID = re.compile(r"^BR-[0-9A-Z]{4,20}$")

ViewKind = Literal["page", "pdf"]


@dataclass(frozen=True)
class Report:
    """One issued report as its retailer (or staff) sees it: never the token, never content."""

    id: int
    public_id: str
    retailer_id: int
    institution: str
    language: Language
    as_of: datetime
    consented_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    revoked_by: int | None
    first_viewed_at: datetime | None
    views: int = 0
    last_viewed_at: datetime | None = None

    def live(self, now: datetime) -> bool:
        return self.revoked_at is None and now < self.expires_at


@dataclass(frozen=True)
class Issued:
    report: Report
    token: str  # shown once, in the link; never stored


Outcome = Literal["shown", "expired", "revoked"]


@dataclass(frozen=True)
class Opened:
    """A link opened: the report, and (only when `outcome` is "shown") its frozen content;
    `first_view` when this was the first time it was shown, `at` when."""

    report: Report
    outcome: Outcome
    content: dict[str, Any]
    first_view: bool
    at: datetime


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode("ascii")).digest()


def well_formed(token: str) -> bool:
    """Whether `token` could be one of ours (checked before any query)."""
    return bool(TOKEN.match(token))


def clean_institution(text: str) -> str:
    """The institution as the retailer typed it: spaces collapsed, trimmed; it must hold a
    letter (not only digits, emoji or punctuation) and fit INSTITUTION_MIN..MAX characters."""
    name = " ".join(unicodedata.normalize("NFC", text).split())
    if not name:
        raise InvalidInstitution(reason="empty", max=INSTITUTION_MAX)
    if len(name) > INSTITUTION_MAX:
        raise InvalidInstitution(reason="too_long", max=INSTITUTION_MAX)
    letters = sum(unicodedata.category(c).startswith(("L", "M")) for c in name)
    if letters < INSTITUTION_MIN:
        raise InvalidInstitution(reason="no_letters", max=INSTITUTION_MAX)
    if any(unicodedata.category(c) in ("Cc", "Cf", "Co", "Cs") for c in name):
        raise InvalidInstitution(reason="no_letters", max=INSTITUTION_MAX)
    return name


def _row(row: asyncpg.Record) -> Report:
    return Report(
        id=row["id"], public_id=row["public_id"], retailer_id=row["retailer_id"],
        institution=row["institution"], language="ne" if row["language"] == "ne" else "en",
        as_of=row["as_of"], consented_at=row["consented_at"], expires_at=row["expires_at"],
        revoked_at=row["revoked_at"], revoked_by=row["revoked_by"],
        first_viewed_at=row["first_viewed_at"],
        views=row.get("views") or 0, last_viewed_at=row.get("last_viewed_at"))


_COLUMNS = """r.id, r.public_id, r.retailer_id, r.institution, r.language, r.as_of,
              r.consented_at, r.expires_at, r.revoked_at, r.revoked_by, r.first_viewed_at"""
_WITH_VIEWS = f"""SELECT {_COLUMNS}, v.views, v.last_viewed_at
    FROM bank_reports r
    LEFT JOIN LATERAL (SELECT count(*) AS views, max(viewed_at) AS last_viewed_at
                       FROM bank_report_views WHERE report_id = r.id AND outcome = 'shown') v
         ON true"""


async def _now(conn: asyncpg.Connection, now: datetime | None) -> datetime:
    if now is not None:
        return now
    at: datetime = await conn.fetchval("SELECT now()")
    return at


async def issue(
    conn: asyncpg.Connection, actor: Actor, *, institution: str, language: Language,
    days: int = DEFAULT_DAYS, now: datetime | None = None,
) -> Issued:
    """The retailer's own consent: their report as of now, frozen, for `institution`, valid for
    `days`. Only a retailer, only for themselves; at most MAX_LIVE live at once. Audited."""
    if actor.role != "RETAILER":
        raise NotPermitted(action="bank_report.issue", role=actor.role)
    name = clean_institution(institution)
    days = max(1, min(days, MAX_DAYS))
    at = await _now(conn, now)
    async with conn.transaction():
        # One retailer's consents are counted under their row's lock: two at once cannot both
        # pass the limit.
        await conn.execute("SELECT 1 FROM retailers WHERE user_id = $1 FOR UPDATE", actor.id)
        live = await conn.fetchval(
            """SELECT count(*) FROM bank_reports
               WHERE retailer_id = $1 AND revoked_at IS NULL AND expires_at > $2""",
            actor.id, at)
        if live >= MAX_LIVE:
            raise TooManyBankReports(live=live, limit=MAX_LIVE)
        built = await bank_report.build(conn, actor, actor.id, as_of=at)
        content = bank_report.content(built)
        token = secrets.token_urlsafe(TOKEN_BYTES)
        row = await conn.fetchrow(
            f"""INSERT INTO bank_reports AS r (public_id, retailer_id, institution, language,
                    as_of, consented_at, expires_at, token_sha256, content)
                VALUES ($1, $2, $3, $4, $5, $5, $6, $7, $8)
                RETURNING {_COLUMNS}""",
            built.report_id, actor.id, name, language, at, at + timedelta(days=days),
            token_hash(token), content)
        report = _row(row)
        await bank_report.record_issued(conn, actor.id, built, how="consent",
                                        details={"institution": name})
        await audit.audit(conn, actor.id, "bank_report.consent", report.public_id,
                          f"shared with {name}",
                          {"institution": name, "expires_at": report.expires_at.isoformat(),
                           "days": days, "language": language})
    return Issued(report, token)


async def get(conn: asyncpg.Connection, actor: Actor, public_id: str) -> Report:
    """One report, for its retailer or staff; anyone else is told it does not exist."""
    ref = public_id.strip().upper()
    row = None
    if PUBLIC_ID.match(ref):
        row = await conn.fetchrow(f"{_WITH_VIEWS} WHERE r.public_id = $1", ref)
    if row is None or not (is_staff(actor) or (actor.role == "RETAILER"
                                                and row["retailer_id"] == actor.id)):
        if actor.role not in ("RETAILER", "ADMIN", "OPERATOR"):
            raise NotPermitted(action="bank_report.read", role=actor.role)
        raise BankReportNotFound(report=public_id[:20])
    return _row(row)


async def listed(
    conn: asyncpg.Connection, actor: Actor, retailer_id: int, *, now: datetime | None = None,
    include_ended: bool = False, limit: int = MAX_LIVE,
) -> list[Report]:
    """A retailer's reports with how often each was viewed and when last: live ones (or all,
    newest first). The retailer's own, or anyone's for staff; vendors none."""
    if not (is_staff(actor) or (actor.role == "RETAILER" and actor.id == retailer_id)):
        raise NotPermitted(action="bank_report.list", role=actor.role)
    at = await _now(conn, now)
    rows = await conn.fetch(
        f"""{_WITH_VIEWS}
            WHERE r.retailer_id = $1
              AND ($2 OR (r.revoked_at IS NULL AND r.expires_at > $3))
            ORDER BY r.consented_at DESC, r.id DESC LIMIT $4""",
        retailer_id, include_ended, at, max(1, min(limit, 100)))
    return [_row(row) for row in rows]


async def revoke(
    conn: asyncpg.Connection, actor: Actor, public_id: str, *, reason: str = "",
    now: datetime | None = None,
) -> Report:
    """Withdraw a report: its link stops working at once. Its retailer, or staff for support;
    once (`AlreadyDone` after). An expired report may still be revoked (it says so). Audited."""
    async with conn.transaction():
        report = await get(conn, actor, public_id)
        at = await _now(conn, now)
        row = await conn.fetchrow(
            f"""UPDATE bank_reports r SET revoked_at = $2, revoked_by = $3
                WHERE id = $1 AND revoked_at IS NULL RETURNING {_COLUMNS}""",
            report.id, at, actor.id)
        if row is None:
            raise AlreadyDone(action="bank_report.revoke", name=report.institution,
                              status="revoked")
        await audit.audit(conn, actor.id, "bank_report.revoke", report.public_id,
                          reason[:200] or ("revoked by the retailer" if actor.id
                                           == report.retailer_id else "revoked by staff"),
                          {"institution": report.institution})
        return _row({**dict(row), "views": report.views,
                     "last_viewed_at": report.last_viewed_at})


async def open_link(
    conn: asyncpg.Connection, token: str, *, kind: ViewKind, client_address: str | None,
    user_agent: str | None, now: datetime | None = None,
) -> Opened:
    """A bank officer opens the link (no actor: the token is the credential): the frozen
    content, the view logged in the caller's transaction. An unknown or malformed token is
    `BankReportNotFound` (nothing logged: there is no report to log it on); an expired or
    revoked one comes back with that `outcome`, logged as an attempt, and no content."""
    if not well_formed(token):
        raise BankReportNotFound(report="")
    async with conn.transaction():
        row = await conn.fetchrow(
            f"SELECT {_COLUMNS}, r.content FROM bank_reports r WHERE r.token_sha256 = $1",
            token_hash(token))
        if row is None:
            raise BankReportNotFound(report="")
        at = await _now(conn, now)
        report = _row(row)
        outcome: Outcome = ("revoked" if report.revoked_at is not None
                            else "expired" if at >= report.expires_at else "shown")
        await conn.execute(
            """INSERT INTO bank_report_views (report_id, viewed_at, kind, outcome,
                                              client_address, user_agent)
               VALUES ($1, $2, $3, $4, $5, $6)""",
            report.id, at, kind, outcome, (client_address or "")[:ADDRESS_MAX] or None,
            _printable(user_agent or "")[:USER_AGENT_MAX] or None)
        if outcome != "shown":
            return Opened(report, outcome, {}, first_view=False, at=at)
        first = await conn.fetchval(
            """UPDATE bank_reports SET first_viewed_at = $2
               WHERE id = $1 AND first_viewed_at IS NULL RETURNING id""", report.id, at)
        return Opened(report, outcome, dict(row["content"]), first_view=first is not None, at=at)


async def views(conn: asyncpg.Connection, actor: Actor, public_id: str,
                *, limit: int = 100) -> list[dict[str, Any]]:
    """Every opening of a report (and attempt after it ended), oldest first: its retailer,
    staff."""
    report = await get(conn, actor, public_id)
    rows = await conn.fetch(
        """SELECT viewed_at, kind, outcome, client_address, user_agent FROM bank_report_views
           WHERE report_id = $1 ORDER BY viewed_at, id LIMIT $2""",
        report.id, max(1, min(limit, 1000)))
    return [dict(row) for row in rows]


def _printable(text: str) -> str:
    return "".join(c for c in text if c.isprintable())
