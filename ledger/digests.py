"""A vendor's short morning digest: who owes them what, by age (0-30, 31-60, 61-90, over 90
days), the biggest balances, what came in yesterday, and the claims waiting for their answer.

One a vendor a Nepal day, from `Rules.digest_at` (not in quiet hours, not on pause days), only
to vendors with something to read; logged in `reminder_log` (kind "digest") under the same
one-a-day key as reminders. Read as the vendor: the digest shows exactly what they may see.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import asyncpg

from ledger import claims, reminders, reports, users
from ledger.reminders import Rules
from ledger.reports import Ageing, RetailerBalance
from locales.formats import nepal_time

TOP_DEBTORS = 5
_NEPAL = ZoneInfo("Asia/Kathmandu")


@dataclass(frozen=True)
class Digest:
    vendor_id: int
    name: str
    day: date
    ageing: Ageing
    debtors: tuple[RetailerBalance, ...]  # the biggest balances, at most TOP_DEBTORS
    debtor_count: int
    received_count: int  # payments received yesterday (Nepal day), not reversed
    received_paisa: int
    pending_claims: int
    open_disputes: int


def due(rules: Rules, now: datetime) -> bool:
    """Whether digests go at `now`: from the digest time, outside quiet hours and pause days."""
    return (nepal_time(now).time() >= rules.digest_at and not rules.quiet(now)
            and not rules.paused(now))


async def run(
    conn: asyncpg.Connection, rules: Rules, now: datetime, *, dry_run: bool = False,
    limit: int | None = None,
) -> list[Digest]:
    """The digests due at `now` (each logged as sent unless `dry_run`)."""
    if not due(rules, now):
        return []
    today = nepal_time(now).date()
    start = datetime.combine(today - timedelta(days=1), time(), _NEPAL)
    rows = await conn.fetch(
        """SELECT u.id FROM users u JOIN vendors v ON v.user_id = u.id
           WHERE u.role = 'VENDOR' AND u.active
             AND NOT EXISTS (SELECT 1 FROM reminder_log l WHERE l.user_id = u.id
                             AND l.kind = 'digest' AND l.day = $1 AND l.outcome = 'sent')
             AND (EXISTS (SELECT 1 FROM ledger_accounts a
                          WHERE a.vendor_id = u.id AND a.balance_paisa <> 0)
                  OR EXISTS (SELECT 1 FROM payments p WHERE p.vendor_id = u.id
                             AND p.received_at >= $2 AND p.received_at < $3)
                  OR EXISTS (SELECT 1 FROM payment_claims c WHERE c.vendor_id = u.id
                             AND c.status = 'pending'))
           ORDER BY u.id LIMIT $4""",
        today, start, start + timedelta(days=1), limit or rules.batch)
    digests = []
    for row in rows:
        vendor_id = row["id"]
        if not dry_run and not await reminders.claim_person(conn, "digest", vendor_id, today):
            continue
        digest = await _digest(conn, vendor_id, today, start, now)
        if not dry_run and await reminders.log(
                conn, user_id=vendor_id, kind="digest", day=today, outcome="sent",
                reason="morning", now=now, details={
                    "total_paisa": digest.ageing.total, "received_paisa": digest.received_paisa,
                    "pending_claims": digest.pending_claims}) is None:
            continue  # another process sent it meanwhile
        digests.append(digest)
    return digests


async def _digest(
    conn: asyncpg.Connection, vendor_id: int, today: date, start: datetime, now: datetime
) -> Digest:
    vendor = await users.by_id(conn, vendor_id)
    assert vendor is not None
    owing = await reports.receivables(conn, vendor_id, actor=vendor, now=now)
    owing = [r for r in owing if r.balance_paisa > 0]
    received = await conn.fetchrow(
        """SELECT count(*) AS n, COALESCE(sum(amount_paisa), 0) AS paisa FROM payments
           WHERE vendor_id = $1 AND NOT reversed AND received_at >= $2 AND received_at < $3""",
        vendor_id, start, start + timedelta(days=1))
    assert received is not None
    disputed = await conn.fetchval(
        "SELECT count(*) FROM disputes WHERE vendor_id = $1 AND status = 'open'", vendor_id)
    return Digest(
        vendor_id=vendor_id, name=vendor.name, day=today,
        ageing=await reports.ageing(conn, actor=vendor, vendor_id=vendor_id, now=now),
        debtors=tuple(owing[:TOP_DEBTORS]), debtor_count=len(owing),
        received_count=int(received["n"]), received_paisa=int(received["paisa"]),
        pending_claims=await claims.pending_count(conn, vendor_id), open_disputes=int(disputed))
