"""How each vendor wants to be paid ("payinfo esewa 98XXXXXXXX"): one line per method, shown to
retailers in reminders. Set by the vendor by chat (and by staff); the web will set it too."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from ledger.actors import Actor, is_staff
from ledger.errors import NotPermitted
from ledger.payments import METHODS

MAX_DETAILS = 120


@dataclass(frozen=True)
class PayDetail:
    vendor_id: int
    method: str
    details: str


def _require_own(actor: Actor, vendor_id: int) -> None:
    if not is_staff(actor) and not (actor.role == "VENDOR" and actor.id == vendor_id):
        raise NotPermitted(action="payinfo.set", role=actor.role)


def clean(details: str) -> str:
    """One line, trimmed and bounded: it goes into template parameters, which take no breaks."""
    return " ".join(details.split())[:MAX_DETAILS]


async def set_details(
    conn: asyncpg.Connection, actor: Actor, vendor_id: int, method: str, details: str
) -> list[PayDetail]:
    """Set (or replace) how to pay `vendor_id` by `method`; returns all their lines."""
    _require_own(actor, vendor_id)
    if method not in METHODS:
        raise ValueError(f"unknown payment method {method!r}")
    text = clean(details)
    if not text:
        raise ValueError("payment details are empty")
    await conn.execute(
        """INSERT INTO vendor_payment_details (vendor_id, method, details) VALUES ($1, $2, $3)
           ON CONFLICT (vendor_id, method) DO UPDATE
               SET details = EXCLUDED.details, updated_at = now()""",
        vendor_id, method, text)
    return await of_vendor(conn, vendor_id)


async def remove(
    conn: asyncpg.Connection, actor: Actor, vendor_id: int, method: str
) -> list[PayDetail]:
    """Stop showing `method` for this vendor; returns the lines left."""
    _require_own(actor, vendor_id)
    await conn.execute(
        "DELETE FROM vendor_payment_details WHERE vendor_id = $1 AND method = $2",
        vendor_id, method)
    return await of_vendor(conn, vendor_id)


async def of_vendor(conn: asyncpg.Connection, vendor_id: int) -> list[PayDetail]:
    """Public: what a vendor asks retailers to pay by (a reminder shows it to anyone owing)."""
    return (await of_vendors(conn, [vendor_id])).get(vendor_id, [])


async def of_vendors(
    conn: asyncpg.Connection, vendor_ids: Sequence[int]
) -> dict[int, list[PayDetail]]:
    rows = await conn.fetch(
        """SELECT vendor_id, method, details FROM vendor_payment_details
           WHERE vendor_id = ANY($1::bigint[])
           ORDER BY vendor_id, array_position($2::text[], method)""",
        list(vendor_ids), list(METHODS))
    found: dict[int, list[PayDetail]] = {}
    for r in rows:
        found.setdefault(r["vendor_id"], []).append(
            PayDetail(r["vendor_id"], r["method"], r["details"]))
    return found
