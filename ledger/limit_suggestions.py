"""Suggested credit limits: from a retailer's score and what they buy, offered to staff, approved
with a tap.

The rule (`propose`, pure; docs/credit-score.md "Suggested limits"): a multiple of the average
monthly purchases over the last three months (ORDER_CREDITs standing in the ledger, all
vendors), by score band — A 1.5, B 1.0, C 0.6, D 0.3, E nothing — rounded down to `step`, at most
`cap`, and never more than double the current limit in one step. Only an increase is suggested
from that. A decrease only for band D or E with something overdue while at least
`decrease_utilisation_percent` of the limit is used: to the band's figure, but never below half
the current limit in one step. No score, no suggestion; a change smaller than
`min_change_percent` of the limit (or one step) is not worth anyone's tap.

Once a Nepal day, from `review_at`, the review walks every retailer in id order, a batch per job
round (`review`); its progress is one row per day (`limit_review_rounds`, locked SKIP LOCKED), so
several processes share the round and nobody is reviewed twice a day. A new suggestion
supersedes the retailer's pending one (so does a review that no longer suggests anything); the
same suggestion as the one pending is not offered again. Staff (operators and admins) approve or
dismiss: the limit is set through `credit.apply_limit`, audited like an admin's, only while the
limit is still the one the suggestion was computed from.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from types import MappingProxyType
from typing import Any, Literal

import asyncpg

from ledger import credit, scores
from ledger.actors import Actor, require_role
from ledger.audit import audit
from ledger.credit import CreditPosition
from ledger.errors import AlreadyDone, LimitChangedSince, SuggestionNotFound
from ledger.lifecycle import BILLED_STATUSES, UNBILLED_STATUSES
from ledger.order_repo import PAID_SQL
from locales.formats import nepal_time

Why = Literal["purchases", "capped", "doubling", "overdue"]
Status = Literal["PENDING", "APPROVED", "DISMISSED", "SUPERSEDED"]

# Percent of average monthly purchases, by band.
MULTIPLIERS: Mapping[str, int] = MappingProxyType({"A": 150, "B": 100, "C": 60, "D": 30, "E": 0})
MONTHS = 3
MAX_LISTED = 20
# A suggestion staff have not decided yet. A parameter, not spelled in the SQL: "PENDING" is also
# an order status, and order statuses are spelled only in ledger/lifecycle.py.
WAITING = "PENDING"


@dataclass(frozen=True)
class Rules:
    cap_paisa: int = 500_000_00            # LIMIT_SUGGESTION_CAP_NPR
    step_paisa: int = 1_000_00             # LIMIT_SUGGESTION_STEP_NPR
    min_change_percent: int = 20           # LIMIT_SUGGESTION_MIN_CHANGE_PERCENT
    review_at: time = time(10, 0)          # LIMIT_SUGGESTIONS_AT, Nepal time
    decrease_utilisation_percent: int = 50
    multipliers: Mapping[str, int] = field(default_factory=lambda: MULTIPLIERS)
    batch: int = 100

    def __post_init__(self) -> None:
        if self.step_paisa <= 0 or self.cap_paisa < self.step_paisa:
            raise ValueError("the step must be positive and the cap at least one step")

    def down(self, paisa: int) -> int:
        return paisa // self.step_paisa * self.step_paisa

    def material(self, current: int, suggested: int) -> bool:
        return abs(suggested - current) >= max(self.step_paisa,
                                               current * self.min_change_percent // 100)


@dataclass(frozen=True)
class Proposal:
    suggested_paisa: int
    why: Why


def propose(
    rules: Rules, *, band: str | None, limit_paisa: int, monthly_paisa: int,
    exposure_paisa: int, overdue_paisa: int,
) -> Proposal | None:
    """The limit the rule suggests instead of `limit_paisa`, or None (no score, or no material
    change). Pure: the tests read the rule's direction off it."""
    if band is None:
        return None
    percent = rules.multipliers[band]
    target = rules.down(monthly_paisa * percent // 100)
    if percent > 0 and target > limit_paisa:
        why: Why = "purchases"
        if target > rules.cap_paisa:
            target, why = rules.down(rules.cap_paisa), "capped"
        if target > max(2 * limit_paisa, rules.step_paisa):
            target, why = max(2 * limit_paisa, rules.step_paisa), "doubling"
        if target > limit_paisa and rules.material(limit_paisa, target):
            return Proposal(target, why)
        return None
    used = exposure_paisa * 100 >= limit_paisa * rules.decrease_utilisation_percent
    if band in ("D", "E") and overdue_paisa > 0 and limit_paisa > 0 and used:
        half = limit_paisa - limit_paisa // 2  # never below half in one step
        lower = max(target, -(-half // rules.step_paisa) * rules.step_paisa)
        if lower < limit_paisa and rules.material(limit_paisa, lower):
            return Proposal(lower, "overdue")
    return None


@dataclass(frozen=True)
class Suggestion:
    id: int
    retailer_id: int
    name: str
    shop_name: str
    phone: str | None
    current_limit_paisa: int
    suggested_limit_paisa: int
    score: int
    band: str
    monthly_purchases_paisa: int
    why: Why
    details: Mapping[str, Any]
    day: date
    status: Status
    decided_by: int | None
    created_at: datetime

    @property
    def increase(self) -> bool:
        return self.suggested_limit_paisa > self.current_limit_paisa


_SELECT = """
    SELECT s.*, u.name, u.phone, r.shop_name
    FROM limit_suggestions s JOIN retailers r ON r.user_id = s.retailer_id
    JOIN users u ON u.id = s.retailer_id"""


def _suggestion(row: asyncpg.Record) -> Suggestion:
    return Suggestion(
        id=row["id"], retailer_id=row["retailer_id"], name=row["name"],
        shop_name=row["shop_name"] or row["name"], phone=row["phone"],
        current_limit_paisa=row["current_limit_paisa"],
        suggested_limit_paisa=row["suggested_limit_paisa"], score=row["score"],
        band=row["band"], monthly_purchases_paisa=row["monthly_purchases_paisa"],
        why=row["why"], details=dict(row["details"]), day=row["day"], status=row["status"],
        decided_by=row["decided_by"], created_at=row["created_at"])


async def get(conn: asyncpg.Connection, suggestion_id: int) -> Suggestion:
    row = await conn.fetchrow(f"{_SELECT} WHERE s.id = $1", suggestion_id)
    if row is None:
        raise SuggestionNotFound(suggestion=suggestion_id)
    return _suggestion(row)


async def pending(conn: asyncpg.Connection, actor: Actor, *, limit: int = MAX_LISTED
                  ) -> tuple[list[Suggestion], int]:
    """Suggestions waiting for staff, oldest first (at most `limit`), and how many wait."""
    require_role(actor, "limit.suggestions", "ADMIN", "OPERATOR")
    rows = await conn.fetch(
        f"{_SELECT} WHERE s.status = $2 ORDER BY s.created_at, s.id LIMIT $1", limit, WAITING)
    count = await conn.fetchval(
        "SELECT count(*) FROM limit_suggestions WHERE status = $1", WAITING)
    return [_suggestion(r) for r in rows], int(count)


# The review ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Facts:
    limit_paisa: int
    exposure_paisa: int
    monthly_paisa: int
    overdue_paisa: int


async def _facts(conn: asyncpg.Connection, ids: Sequence[int], now: datetime
                 ) -> dict[int, _Facts]:
    """Limit, exposure, average monthly purchases and overdue of each retailer, set-based."""
    rows = await conn.fetch(
        f"""SELECT r.user_id, r.credit_limit_paisa,
                   COALESCE((SELECT sum(a.balance_paisa) FROM ledger_accounts a
                             WHERE a.retailer_id = r.user_id), 0)
                   + COALESCE((SELECT sum(o.total_paisa) FROM orders o
                               WHERE o.retailer_id = r.user_id
                                 AND o.status = ANY($4::text[])), 0) AS exposure,
                   COALESCE((SELECT sum(e.amount_paisa) FROM ledger_entries e
                             JOIN ledger_accounts a ON a.id = e.account_id
                             WHERE a.retailer_id = r.user_id AND e.kind = 'ORDER_CREDIT'
                               AND e.happened_at > $2::timestamptz - $3::interval
                               AND e.happened_at <= $2
                               AND NOT EXISTS (SELECT 1 FROM ledger_entries x
                                               WHERE x.reverses_entry_id = e.id)), 0)
                       AS purchases,
                   COALESCE((SELECT sum(o.total_paisa - {PAID_SQL}) FROM orders o
                             WHERE o.retailer_id = r.user_id AND o.status = ANY($5::text[])
                               AND o.due_at < $2), 0) AS overdue
            FROM retailers r WHERE r.user_id = ANY($1::bigint[])""",
        list(ids), now, timedelta(days=30 * MONTHS), list(UNBILLED_STATUSES),
        list(BILLED_STATUSES))
    return {r["user_id"]: _Facts(r["credit_limit_paisa"], int(r["exposure"]),
                                 int(r["purchases"]) // MONTHS, int(r["overdue"]))
            for r in rows}


async def _claim_round(conn: asyncpg.Connection, day: date) -> int | None:
    """Today's round, locked for this transaction: how far it got; None when it is finished or
    another process is at it now."""
    await conn.execute(
        "INSERT INTO limit_review_rounds (day) VALUES ($1) ON CONFLICT (day) DO NOTHING", day)
    row = await conn.fetchrow(
        """SELECT after_retailer_id FROM limit_review_rounds
           WHERE day = $1 AND finished_at IS NULL FOR UPDATE SKIP LOCKED""", day)
    return None if row is None else int(row["after_retailer_id"])


async def review(conn: asyncpg.Connection, rules: Rules, now: datetime) -> list[Suggestion]:
    """One batch of today's review, as the system: the new suggestions it made (to offer to
    staff), in the caller's transaction. Nothing before `rules.review_at` (Nepal time), nothing
    once the day's round is done."""
    local = nepal_time(now)
    if local.time() < rules.review_at:
        return []
    day = local.date()
    made: list[Suggestion] = []
    async with conn.transaction():
        after = await _claim_round(conn, day)
        if after is None:
            return []
        ids = [r["user_id"] for r in await conn.fetch(
            """SELECT r.user_id FROM retailers r JOIN users u ON u.id = r.user_id
               WHERE r.user_id > $1 AND u.active ORDER BY r.user_id LIMIT $2""",
            after, rules.batch)]
        if ids:
            facts = await _facts(conn, ids, now)
            scored = {s.retailer_id: s.score
                      for s in await scores.town(conn, None, as_of=now, retailer_ids=ids)}
            for retailer_id in ids:
                found = await _review_one(conn, rules, day, retailer_id, facts[retailer_id],
                                          scored[retailer_id].score, scored[retailer_id].band)
                if found is not None:
                    made.append(found)
        await conn.execute(
            """UPDATE limit_review_rounds SET after_retailer_id = $2,
                      finished_at = CASE WHEN $3 THEN now() END
               WHERE day = $1""",
            day, ids[-1] if ids else after, len(ids) < rules.batch)
    return made


async def _review_one(
    conn: asyncpg.Connection, rules: Rules, day: date, retailer_id: int, facts: _Facts,
    score: int | None, band: str | None,
) -> Suggestion | None:
    proposal = propose(rules, band=band, limit_paisa=facts.limit_paisa,
                       monthly_paisa=facts.monthly_paisa, exposure_paisa=facts.exposure_paisa,
                       overdue_paisa=facts.overdue_paisa)
    waiting = await conn.fetchrow(
        """SELECT id, current_limit_paisa, suggested_limit_paisa FROM limit_suggestions
           WHERE retailer_id = $1 AND status = $2 FOR UPDATE""", retailer_id, WAITING)
    if waiting is not None:
        if proposal is not None and (waiting["current_limit_paisa"],
                                     waiting["suggested_limit_paisa"]) == (
                facts.limit_paisa, proposal.suggested_paisa):
            return None  # offered already, still right: not offered again
        await conn.execute(
            """UPDATE limit_suggestions SET status = 'SUPERSEDED', decided_at = now()
               WHERE id = $1""", waiting["id"])
    if proposal is None:
        return None
    assert score is not None and band is not None
    new_id = await conn.fetchval(
        """INSERT INTO limit_suggestions (retailer_id, current_limit_paisa,
               suggested_limit_paisa, score, band, monthly_purchases_paisa, why, details, day)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id""",
        retailer_id, facts.limit_paisa, proposal.suggested_paisa, score, band,
        facts.monthly_paisa, proposal.why,
        {"exposure_paisa": facts.exposure_paisa, "overdue_paisa": facts.overdue_paisa,
         "multiplier_percent": rules.multipliers[band], "cap_paisa": rules.cap_paisa,
         "superseded": waiting["id"] if waiting is not None else None}, day)
    return await get(conn, int(new_id))


# Staff decide -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Approved:
    suggestion: Suggestion
    position: CreditPosition


async def _lock_pending(conn: asyncpg.Connection, suggestion_id: int, action: str) -> Suggestion:
    row = await conn.fetchrow(
        "SELECT id FROM limit_suggestions WHERE id = $1 FOR UPDATE", suggestion_id)
    if row is None:
        raise SuggestionNotFound(suggestion=suggestion_id)
    found = await get(conn, suggestion_id)
    if found.status != "PENDING":
        raise AlreadyDone(action=action, name=found.shop_name, status=found.status)
    return found


async def approve(conn: asyncpg.Connection, suggestion_id: int, actor: Actor) -> Approved:
    """An operator or admin approves a suggested limit: set as `credit.set_limit` sets one
    (audited: old, new, who, "suggested from score N"), once (`AlreadyDone`), and only while the
    retailer's limit is still the one it was computed from (`LimitChangedSince`)."""
    require_role(actor, "limit.approve", "ADMIN", "OPERATOR")
    async with conn.transaction():
        found = await _lock_pending(conn, suggestion_id, "limit.approve")
        now_paisa = await conn.fetchval(
            "SELECT credit_limit_paisa FROM retailers WHERE user_id = $1 FOR NO KEY UPDATE",
            found.retailer_id)
        if now_paisa != found.current_limit_paisa:
            raise LimitChangedSince(name=found.shop_name, then_paisa=found.current_limit_paisa,
                                    now_paisa=now_paisa,
                                    suggested_paisa=found.suggested_limit_paisa)
        position = await credit.apply_limit(
            conn, found.retailer_id, found.suggested_limit_paisa, actor,
            f"suggested from score {found.score} (band {found.band})",
            details={"suggestion_id": found.id, "score": found.score, "band": found.band})
        await conn.execute(
            """UPDATE limit_suggestions SET status = 'APPROVED', decided_by = $2,
                      decided_at = now() WHERE id = $1""", found.id, actor.id)
        return Approved(await get(conn, found.id), position)


async def dismiss(conn: asyncpg.Connection, suggestion_id: int, actor: Actor) -> Suggestion:
    """An operator or admin dismisses a suggestion, once; audited."""
    require_role(actor, "limit.dismiss", "ADMIN", "OPERATOR")
    async with conn.transaction():
        found = await _lock_pending(conn, suggestion_id, "limit.dismiss")
        await conn.execute(
            """UPDATE limit_suggestions SET status = 'DISMISSED', decided_by = $2,
                      decided_at = now() WHERE id = $1""", found.id, actor.id)
        await audit(conn, actor.id, "credit.limit_suggestion_dismissed",
                    f"retailer:{found.retailer_id}",
                    f"suggested {found.suggested_limit_paisa} paisa from score {found.score}",
                    {"suggestion_id": found.id, "current_paisa": found.current_limit_paisa,
                     "suggested_paisa": found.suggested_limit_paisa})
        return await get(conn, found.id)
