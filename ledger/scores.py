"""The credit-score read service: one retailer's score for whoever may see them, or every
retailer's for staff and the CLI. Facts come from `ledger.score_data`, the score from the pure
`ledger.score.compute`; no score is stored, so a score is always what the ledger says as of then
(one retailer's facts may come partly from their kept record: `ledger.score_data.gather_one`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from ledger import access, score_data
from ledger.actors import Actor, is_staff
from ledger.errors import NotPermitted, UnknownRetailer
from ledger.score import Score, compute

# Retailers gathered per round: bounds the rows held at once for a big town.
BATCH = 1000


@dataclass(frozen=True)
class RetailerScore:
    retailer_id: int
    phone: str | None
    shop_name: str
    score: Score


async def _as_of(conn: asyncpg.Connection, as_of: datetime | None) -> datetime:
    if as_of is not None:
        return as_of
    now: datetime = await conn.fetchval("SELECT now()")
    return now


async def for_retailer(
    conn: asyncpg.Connection, actor: Actor, retailer_id: int, *, as_of: datetime | None = None
) -> Score:
    """A retailer's score as of `as_of` (default now), for them, a vendor serving them, staff."""
    await access.require_sees_retailer(conn, actor, retailer_id)
    at = await _as_of(conn, as_of)
    facts = await score_data.gather_one(conn, retailer_id, at)
    if facts is None:
        raise UnknownRetailer(user_id=retailer_id)
    return compute(facts)


async def town(
    conn: asyncpg.Connection, actor: Actor | None, *, as_of: datetime | None = None,
    retailer_ids: list[int] | None = None,
) -> list[RetailerScore]:
    """Every retailer's score (or those named), by phone; staff and the system (CLI) only."""
    if actor is not None and not is_staff(actor):
        raise NotPermitted(action="town.read", role=actor.role)
    at = await _as_of(conn, as_of)
    people = await conn.fetch(
        """SELECT u.id, u.phone, r.shop_name FROM retailers r JOIN users u ON u.id = r.user_id
           WHERE $1::bigint[] IS NULL OR u.id = ANY($1::bigint[])
           ORDER BY u.phone NULLS LAST, u.id""", retailer_ids)
    found: list[RetailerScore] = []
    for start in range(0, len(people), BATCH):
        chunk = people[start:start + BATCH]
        facts = await score_data.gather(conn, [p["id"] for p in chunk], at)
        found.extend(RetailerScore(p["id"], p["phone"], p["shop_name"], compute(facts[p["id"]]))
                     for p in chunk)
    return found


def as_json(phone: str | None, score: Score) -> dict[str, Any]:
    """A retailer's score as `khaacho score --json` prints it and the API's
    GET /api/v1/retailers/{phone}/score returns it: the score, band, why there is none, and every
    factor with its points and words in both languages."""
    return {
        "phone": phone, "score": score.score, "band": score.band, "reason": score.reason,
        "factors": [{"key": f.key, "points": f.points, "en": f.en, "ne": f.ne}
                    for f in score.factors],
    }
