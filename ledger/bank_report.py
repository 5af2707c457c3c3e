"""STUB until branch `report` is merged: the bank report's content (its interface only)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from ledger import scores, users
from ledger.actors import Actor
from ledger.score import Score


@dataclass(frozen=True)
class BankReport:
    retailer_id: int
    shop_name: str
    as_of: datetime
    score: Score


async def build(conn: asyncpg.Connection, actor: Actor, retailer_id: int, *,
                as_of: datetime | None = None) -> BankReport:
    at = as_of or await conn.fetchval("SELECT now()")
    found = await scores.for_retailer(conn, actor, retailer_id, as_of=at)
    shop = await users.shop(conn, retailer_id)
    return BankReport(retailer_id, shop.shop_name if shop else "", at, found)


def content(report: BankReport) -> dict[str, Any]:
    balance = 0
    return {"shop": report.shop_name, "as_of": report.as_of.isoformat(),
            "score": report.score.score, "band": report.score.band,
            "reason": report.score.reason, "balance_paisa": balance}
