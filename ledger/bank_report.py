"""The bank report: a retailer's credit record as the ledger knew it at one moment, for a bank
officer to read, and the canonical dict of it that the platform signs.

Point in time, as the score is (`ledger.score_data`): only bills billed, payments received and
reversals, acknowledgements and disputes recorded by `as_of` count, imported khata history on
its own dates; a report as of a past moment comes out the same however much is added later.
Months are Nepal's (Bikram Sambat) months, the calendar the retailer, the vendors and the
bank's own fiscal year use; each also says its AD dates. Amounts are integer paisa, days whole
days, shares as the two counts or sums they come from (no floats are signed).

`content(report)` is exactly what is signed and stored; `from_content` reads it back, and the
renderers (`bot.report_doc`) work from the dict alone, so a report stored when the retailer
consented is shown later exactly as it was issued.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import nepali_datetime

from ledger import chain, score_data
from ledger.actors import Actor, is_staff
from ledger.audit import audit
from ledger.errors import NotPermitted, UnknownRetailer
from ledger.score import GRACE_DAYS, Score, compute
from locales.formats import NEPAL_TIME

SCHEMA = 1
KIND = "khaacho.bank_report"
MONTHS = 12
WINDOW = timedelta(days=365)  # on-time share, days past due, billed per vendor
MAX_VENDORS = 50              # a shop deals with a handful; a bound keeps the page one page
# Days past due, as banks bucket them; "not yet due" is its own line.
BUCKETS = ((1, 30), (31, 60), (61, 90), (91, None))


@dataclass(frozen=True)
class Shop:
    retailer_id: int
    name: str
    shop_name: str
    area: str
    phone: str | None
    joined_at: datetime            # registered on Khaacho
    history_since: date | None     # the first entry's day in Nepal, imported history included
    credit_limit_paisa: int


@dataclass(frozen=True)
class Month:
    bs_year: int
    bs_month: int                  # 1 Baisakh .. 12 Chaitra
    start: date                    # AD, inclusive
    end: date                      # AD, inclusive (the as-of day for the current month)
    purchases_paisa: int           # billed in the month
    repayments_paisa: int          # received in the month, not reversed by as_of
    bills: int


@dataclass(frozen=True)
class Timeliness:
    bills_due: int                 # bills that fell due in the 12 months before as_of
    bills_on_time: int             # of those, paid in full by their due date (a day's grace)
    average_days_past_due: int     # over those bills, on-time ones counting 0
    worst_days_past_due: int


@dataclass(frozen=True)
class Dues:
    owed_paisa: int                # everything not yet paid, as of as_of
    not_due_paisa: int
    past_due_paisa: tuple[int, int, int, int]  # 1-30, 31-60, 61-90, over 90 days past due
    oldest_days_past_due: int      # 0: nothing overdue


@dataclass(frozen=True)
class VendorLine:
    vendor_id: int
    name: str
    since: date                    # the account's first entry, in Nepal
    billed_paisa: int              # billed in the 12 months before as_of
    paid_paisa: int                # paid in those 12 months
    owed_paisa: int                # not yet paid, as of as_of


@dataclass(frozen=True)
class Disputes:
    raised: int                    # disputes raised by as_of
    open: int                      # of those, still open at as_of


@dataclass(frozen=True)
class Acknowledged:
    recorded_paisa: int            # bills and payments on the record by as_of (by value)
    acknowledged_paisa: int        # of that, agreed by both sides


@dataclass(frozen=True)
class FactorLine:
    key: str
    points: int
    en: str
    ne: str


@dataclass(frozen=True)
class ScoreLine:
    score: int | None
    band: str | None
    meaning_en: str | None
    meaning_ne: str | None
    reason_en: str | None          # why there is no score
    reason_ne: str | None
    factors: tuple[FactorLine, ...]
    improvements: tuple[FactorLine, ...]   # points: what each could add at most


@dataclass(frozen=True)
class ChainHead:
    account_id: int
    vendor_id: int
    entry_id: int
    account_version: int
    hash_hex: str


@dataclass(frozen=True)
class BankReport:
    report_id: str
    issued_at: datetime
    as_of: datetime
    shop: Shop
    months: tuple[Month, ...]      # oldest first
    timeliness: Timeliness
    dues: Dues
    vendors: tuple[VendorLine, ...]
    disputes: Disputes
    acknowledged: Acknowledged
    score: ScoreLine
    heads: tuple[ChainHead, ...]


def new_report_id() -> str:
    """"BR-7K2M9QX4TD": random, so a report's id says nothing about the shop or its order."""
    alphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
    return "BR-" + "".join(secrets.choice(alphabet) for _ in range(10))


async def build(
    conn: asyncpg.Connection, actor: Actor | None, retailer_id: int, *,
    as_of: datetime | None = None,
) -> BankReport:
    """The report of `retailer_id` as of `as_of` (default now): for the retailer themself, staff,
    or the system (`actor` None: the command line, the consented link); anyone else is refused."""
    if actor is not None and not is_staff(actor) and not (
            actor.role == "RETAILER" and actor.id == retailer_id):
        raise NotPermitted(action="bank_report.build", role=actor.role)
    if as_of is not None and as_of.tzinfo is None:
        raise ValueError("as_of must be an aware datetime")
    issued: datetime = await conn.fetchval("SELECT now()")
    at = as_of or issued
    row = await conn.fetchrow(
        """SELECT u.id, u.name, u.phone, u.created_at, r.shop_name, r.address,
                  r.credit_limit_paisa
           FROM retailers r JOIN users u ON u.id = r.user_id WHERE r.user_id = $1""",
        retailer_id)
    if row is None:
        raise UnknownRetailer(user_id=retailer_id)
    facts = (await score_data.gather(conn, [retailer_id], at))[retailer_id]
    window_start = at - WINDOW
    pays = await conn.fetch(
        """SELECT p.vendor_id, p.amount_paisa, p.received_at FROM payments p
           WHERE p.retailer_id = $1 AND p.received_at <= $2
             AND NOT EXISTS (SELECT 1 FROM ledger_entries r
                             WHERE r.payment_id = p.id AND r.kind = 'REVERSAL'
                               AND r.created_at <= $2)
           ORDER BY p.received_at, p.id""", retailer_id, at)
    accounts = await conn.fetch(
        """SELECT a.vendor_id, v.shop_name, min(e.happened_at) AS since
           FROM ledger_accounts a JOIN vendors v ON v.user_id = a.vendor_id
           JOIN ledger_entries e ON e.account_id = a.id AND e.happened_at <= $2
           WHERE a.retailer_id = $1
           GROUP BY a.vendor_id, v.shop_name ORDER BY min(e.happened_at), a.vendor_id""",
        retailer_id, at)
    disputes = await conn.fetchrow(
        """SELECT count(*) AS raised,
                  count(*) FILTER (WHERE resolved_at IS NULL OR resolved_at > $2) AS open
           FROM disputes WHERE retailer_id = $1 AND created_at <= $2""", retailer_id, at)
    acknowledged = await conn.fetchrow(
        """SELECT COALESCE(sum(abs(e.amount_paisa)), 0) AS recorded,
                  COALESCE(sum(abs(e.amount_paisa)) FILTER (WHERE
                      e.acknowledged_by IS NOT NULL OR EXISTS (
                          SELECT 1 FROM audit_log l WHERE l.action = 'entry.acknowledge'
                            AND l.subject = 'entry:' || e.id AND l.created_at <= $2)), 0)
                      AS acknowledged
           FROM ledger_entries e JOIN ledger_accounts a ON a.id = e.account_id
           WHERE a.retailer_id = $1 AND e.happened_at <= $2
             AND e.kind IN ('ORDER_CREDIT', 'PAYMENT_DEBIT')
             AND NOT EXISTS (SELECT 1 FROM ledger_entries r
                             WHERE r.reverses_entry_id = e.id AND r.created_at <= $2)""",
        retailer_id, at)
    first = min((a["since"] for a in accounts), default=None)
    shop = Shop(
        retailer_id=retailer_id, name=row["name"], shop_name=row["shop_name"],
        area=row["address"], phone=row["phone"], joined_at=row["created_at"],
        history_since=None if first is None else first.astimezone(NEPAL_TIME).date(),
        credit_limit_paisa=facts.limit_paisa)
    return BankReport(
        report_id=new_report_id(), issued_at=issued, as_of=at, shop=shop,
        months=_months(facts, pays, at),
        timeliness=_timeliness(facts, window_start),
        dues=_dues(facts),
        vendors=_vendors(facts, pays, accounts, window_start),
        disputes=Disputes(int(disputes["raised"]), int(disputes["open"])),
        acknowledged=Acknowledged(int(acknowledged["recorded"]),
                                  int(acknowledged["acknowledged"])),
        score=_score(compute(facts)),
        heads=await _heads(conn, retailer_id, at))


def bs_months(as_of: datetime, count: int = MONTHS) -> list[tuple[int, int, date, date]]:
    """The `count` Nepal months up to the one `as_of` falls in: (BS year, month, AD first day,
    AD last day), oldest first; the last ends on the as-of day."""
    today = as_of.astimezone(NEPAL_TIME).date()
    bs = nepali_datetime.date.from_datetime_date(today)
    year, month = bs.year, bs.month
    found = []
    end = today
    for _ in range(count):
        start = nepali_datetime.date(year, month, 1).to_datetime_date()
        found.append((year, month, start, end))
        end = start - timedelta(days=1)
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return found[::-1]


def _nepal_day(moment: datetime) -> date:
    return moment.astimezone(NEPAL_TIME).date()


def _months(facts: score_data.Facts, pays: list[asyncpg.Record], at: datetime) -> tuple[Month, ...]:
    months = bs_months(at)
    bought: dict[int, int] = defaultdict(int)
    counted: dict[int, int] = defaultdict(int)
    repaid: dict[int, int] = defaultdict(int)

    def index(day: date) -> int | None:
        for i, (_, _, start, end) in enumerate(months):
            if start <= day <= end:
                return i
        return None

    for bill in facts.bills:
        i = index(_nepal_day(bill.accepted_at))
        if i is not None:
            bought[i] += bill.total_paisa
            counted[i] += 1
    for pay in pays:
        i = index(_nepal_day(pay["received_at"]))
        if i is not None:
            repaid[i] += pay["amount_paisa"]
    return tuple(Month(y, m, start, end, bought[i], repaid[i], counted[i])
                 for i, (y, m, start, end) in enumerate(months))


def _days_past_due(bill: score_data.Bill, at: datetime) -> int:
    """Whole days past due: until paid in full, or until `at` while unpaid; a day's grace."""
    end = bill.paid_at if bill.paid_at is not None else at
    late = (end - bill.due_at).total_seconds() / 86400
    return 0 if late <= GRACE_DAYS else int(late)


def _timeliness(facts: score_data.Facts, window_start: datetime) -> Timeliness:
    due = [b for b in facts.bills if window_start < b.due_at <= facts.as_of]
    late = [_days_past_due(b, facts.as_of) for b in due]
    return Timeliness(
        bills_due=len(due), bills_on_time=sum(1 for d in late if d == 0),
        average_days_past_due=round(sum(late) / len(late)) if late else 0,
        worst_days_past_due=max(late, default=0))


def _dues(facts: score_data.Facts) -> Dues:
    not_due, buckets, oldest = 0, [0, 0, 0, 0], 0
    for bill in facts.bills:
        if bill.outstanding_paisa <= 0:
            continue
        days = (facts.as_of - bill.due_at).total_seconds() / 86400
        if days < 1:
            not_due += bill.outstanding_paisa
            continue
        whole = int(days)
        oldest = max(oldest, whole)
        for i, (_, high) in enumerate(BUCKETS):
            if high is None or whole <= high:
                buckets[i] += bill.outstanding_paisa
                break
    owed = not_due + sum(buckets)
    return Dues(owed, not_due, (buckets[0], buckets[1], buckets[2], buckets[3]), oldest)


def _vendors(facts: score_data.Facts, pays: list[asyncpg.Record],
             accounts: list[asyncpg.Record], window_start: datetime) -> tuple[VendorLine, ...]:
    billed: dict[int, int] = defaultdict(int)
    owed: dict[int, int] = defaultdict(int)
    paid: dict[int, int] = defaultdict(int)
    for bill in facts.bills:
        owed[bill.vendor_id] += bill.outstanding_paisa
        if bill.accepted_at > window_start:
            billed[bill.vendor_id] += bill.total_paisa
    for pay in pays:
        if pay["received_at"] > window_start:
            paid[pay["vendor_id"]] += pay["amount_paisa"]
    return tuple(
        VendorLine(a["vendor_id"], a["shop_name"], _nepal_day(a["since"]),
                   billed[a["vendor_id"]], paid[a["vendor_id"]], owed[a["vendor_id"]])
        for a in accounts[:MAX_VENDORS])


def _score(score: Score) -> ScoreLine:
    meaning = score.meaning
    return ScoreLine(
        score=score.score, band=score.band,
        meaning_en=meaning[0] if meaning else None, meaning_ne=meaning[1] if meaning else None,
        reason_en=score.reason, reason_ne=score.reason_ne,
        factors=tuple(FactorLine(f.key, f.points, f.en, f.ne) for f in score.factors),
        improvements=tuple(FactorLine(i.key, i.gain, i.en, i.ne) for i in score.improvements))


async def _heads(conn: asyncpg.Connection, retailer_id: int, at: datetime
                 ) -> tuple[ChainHead, ...]:
    heads = await chain.heads_of_retailer(conn, retailer_id, as_of=at)
    return tuple(ChainHead(h.account_id, h.vendor_id, h.entry_id, h.account_version, h.hash_hex)
                 for h in heads)


async def record_issued(
    conn: asyncpg.Connection, actor_id: int | None, report: BankReport, *, how: str,
    details: dict[str, Any] | None = None,
) -> None:
    """Audit that a report was issued (who, for whom, as of when, how: "command line", …)."""
    await audit(conn, actor_id, "bank_report.issue", f"retailer:{report.shop.retailer_id}", how,
                {"report_id": report.report_id, "as_of": _utc(report.as_of), **(details or {})})


async def check_heads(conn: asyncpg.Connection, heads: tuple[ChainHead, ...]) -> list[str]:
    """What no longer matches the ledger of a report's chain heads: each must still be there,
    with its hash, at the end of a chain that holds (`ledger.chain.verify_heads`). Empty: all
    hold."""
    return await chain.verify_heads(conn, [
        chain.Head(h.account_id, h.vendor_id, h.entry_id, h.account_version, h.hash_hex)
        for h in heads])


# ---- the canonical dict ------------------------------------------------------------------------

def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _from_utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _factor(f: FactorLine) -> dict[str, Any]:
    return {"key": f.key, "points": f.points, "en": f.en, "ne": f.ne}


def content(report: BankReport) -> dict[str, Any]:
    """The JSON-able canonical dict: exactly what is signed, stored and rendered."""
    shop, t, d, s = report.shop, report.timeliness, report.dues, report.score
    return {
        "schema": SCHEMA,
        "kind": KIND,
        "report_id": report.report_id,
        "issued_at": _utc(report.issued_at),
        "as_of": _utc(report.as_of),
        "shop": {
            "retailer_id": shop.retailer_id, "name": shop.name, "shop_name": shop.shop_name,
            "area": shop.area, "phone": shop.phone, "joined_at": _utc(shop.joined_at),
            "history_since": shop.history_since.isoformat() if shop.history_since else None,
            "credit_limit_paisa": shop.credit_limit_paisa,
        },
        "months": [{"bs_year": m.bs_year, "bs_month": m.bs_month, "start": m.start.isoformat(),
                    "end": m.end.isoformat(), "purchases_paisa": m.purchases_paisa,
                    "repayments_paisa": m.repayments_paisa, "bills": m.bills}
                   for m in report.months],
        "timeliness": {"window_days": WINDOW.days, "bills_due": t.bills_due,
                       "bills_on_time": t.bills_on_time,
                       "average_days_past_due": t.average_days_past_due,
                       "worst_days_past_due": t.worst_days_past_due},
        "dues": {"owed_paisa": d.owed_paisa, "not_due_paisa": d.not_due_paisa,
                 "past_due_1_30_paisa": d.past_due_paisa[0],
                 "past_due_31_60_paisa": d.past_due_paisa[1],
                 "past_due_61_90_paisa": d.past_due_paisa[2],
                 "past_due_over_90_paisa": d.past_due_paisa[3],
                 "oldest_days_past_due": d.oldest_days_past_due},
        "vendors": [{"vendor_id": v.vendor_id, "name": v.name, "since": v.since.isoformat(),
                     "billed_paisa": v.billed_paisa, "paid_paisa": v.paid_paisa,
                     "owed_paisa": v.owed_paisa} for v in report.vendors],
        "disputes": {"raised": report.disputes.raised, "open": report.disputes.open},
        "acknowledged": {"recorded_paisa": report.acknowledged.recorded_paisa,
                         "acknowledged_paisa": report.acknowledged.acknowledged_paisa},
        "score": {"score": s.score, "band": s.band, "meaning_en": s.meaning_en,
                  "meaning_ne": s.meaning_ne, "reason_en": s.reason_en, "reason_ne": s.reason_ne,
                  "factors": [_factor(f) for f in s.factors],
                  "improvements": [_factor(f) for f in s.improvements]},
        "chain": [{"account_id": h.account_id, "vendor_id": h.vendor_id, "entry_id": h.entry_id,
                   "account_version": h.account_version, "hash": h.hash_hex}
                  for h in report.heads],
    }


class BadContent(ValueError):
    """A dict that is not a bank report of a schema this code reads."""


def from_content(d: dict[str, Any]) -> BankReport:
    """The report a canonical dict describes (what `content` made); BadContent otherwise."""
    if d.get("kind") != KIND or d.get("schema") != SCHEMA:
        raise BadContent(f"not a {KIND} of schema {SCHEMA}")
    try:
        shop, t, dues, s = d["shop"], d["timeliness"], d["dues"], d["score"]

        def factors(items: list[dict[str, Any]]) -> tuple[FactorLine, ...]:
            return tuple(FactorLine(f["key"], int(f["points"]), f["en"], f["ne"])
                         for f in items)

        return BankReport(
            report_id=d["report_id"], issued_at=_from_utc(d["issued_at"]),
            as_of=_from_utc(d["as_of"]),
            shop=Shop(shop["retailer_id"], shop["name"], shop["shop_name"], shop["area"],
                      shop["phone"], _from_utc(shop["joined_at"]),
                      date.fromisoformat(shop["history_since"]) if shop["history_since"]
                      else None, shop["credit_limit_paisa"]),
            months=tuple(Month(m["bs_year"], m["bs_month"], date.fromisoformat(m["start"]),
                               date.fromisoformat(m["end"]), m["purchases_paisa"],
                               m["repayments_paisa"], m["bills"]) for m in d["months"]),
            timeliness=Timeliness(t["bills_due"], t["bills_on_time"],
                                  t["average_days_past_due"], t["worst_days_past_due"]),
            dues=Dues(dues["owed_paisa"], dues["not_due_paisa"],
                      (dues["past_due_1_30_paisa"], dues["past_due_31_60_paisa"],
                       dues["past_due_61_90_paisa"], dues["past_due_over_90_paisa"]),
                      dues["oldest_days_past_due"]),
            vendors=tuple(VendorLine(v["vendor_id"], v["name"], date.fromisoformat(v["since"]),
                                     v["billed_paisa"], v["paid_paisa"], v["owed_paisa"])
                          for v in d["vendors"]),
            disputes=Disputes(d["disputes"]["raised"], d["disputes"]["open"]),
            acknowledged=Acknowledged(d["acknowledged"]["recorded_paisa"],
                                      d["acknowledged"]["acknowledged_paisa"]),
            score=ScoreLine(s["score"], s["band"], s["meaning_en"], s["meaning_ne"],
                            s["reason_en"], s["reason_ne"], factors(s["factors"]),
                            factors(s["improvements"])),
            heads=tuple(ChainHead(h["account_id"], h["vendor_id"], h["entry_id"],
                                  h["account_version"], h["hash"]) for h in d["chain"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise BadContent(f"not a bank report: {exc}") from exc
