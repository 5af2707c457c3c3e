"""Who stated a ledger entry and who acknowledged it: a payment a retailer claimed and the vendor
confirmed is stated by the retailer and acknowledged by the vendor; one the vendor recorded is
stated by the vendor and acknowledged by the retailer when they tap "Correct".

The one place that records it. Until ledger_entries carries `stated_by` and `acknowledged_by`
(the khata import's migration), each acknowledgement is an audit row; at that merge, `acknowledge`
writes those columns instead and `of_entry` reads them, and no caller changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from ledger.audit import audit

ACTION = "entry.acknowledge"


@dataclass(frozen=True)
class Provenance:
    entry_id: int
    stated_by: int
    acknowledged_by: int
    how: str  # "claim confirmed", "retailer agreed"
    at: datetime


async def acknowledge(
    conn: asyncpg.Connection, entry_id: int, *, stated_by: int, acknowledged_by: int, how: str
) -> None:
    """Record that `acknowledged_by` agrees with the entry `stated_by` made (in the caller's
    transaction). Acknowledging twice keeps the first."""
    if await of_entry(conn, entry_id) is not None:
        return
    await audit(conn, acknowledged_by, ACTION, f"entry:{entry_id}", how,
                {"stated_by": stated_by, "acknowledged_by": acknowledged_by})


async def of_entry(conn: asyncpg.Connection, entry_id: int) -> Provenance | None:
    row = await conn.fetchrow(
        """SELECT details, reason, created_at FROM audit_log
           WHERE action = $1 AND subject = $2 ORDER BY id LIMIT 1""",
        ACTION, f"entry:{entry_id}")
    if row is None:
        return None
    details = row["details"]
    return Provenance(entry_id, int(details["stated_by"]), int(details["acknowledged_by"]),
                      row["reason"], row["created_at"])
