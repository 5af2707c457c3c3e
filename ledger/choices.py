"""What a retailer chose for a generic word ("chamal" is Mansuli to them): the parser resolves
their words with it next time, so the same question is not asked twice."""

from __future__ import annotations

import asyncpg

MAX_REMEMBERED = 1000
MAX_PHRASE = 100


def key(phrase: str) -> str:
    """How a phrase is remembered: lower case, single spaces, bounded."""
    return " ".join(phrase.lower().split())[:MAX_PHRASE]


async def remembered(conn: asyncpg.Connection, retailer_id: int) -> dict[str, str]:
    rows = await conn.fetch(
        "SELECT phrase, sku FROM remembered_choices WHERE retailer_id = $1 LIMIT $2",
        retailer_id, MAX_REMEMBERED)
    return {r["phrase"]: r["sku"] for r in rows}


async def remember(conn: asyncpg.Connection, retailer_id: int, phrase: str, sku: str) -> None:
    phrase = key(phrase)
    if phrase:
        await conn.execute(
            """INSERT INTO remembered_choices (retailer_id, phrase, sku) VALUES ($1, $2, $3)
               ON CONFLICT (retailer_id, phrase) DO UPDATE SET sku = EXCLUDED.sku,
                   chosen_at = now()""",
            retailer_id, phrase, sku)
