"""The audit log: who did what to whom and why — every decision staff take about people and money.

The only writer of `audit_log`; services call it inside their own transaction, so a decision and
its audit row commit together or not at all."""

from __future__ import annotations

from typing import Any

import asyncpg


async def audit(
    conn: asyncpg.Connection, actor_id: int | None, action: str, subject: str, reason: str,
    details: dict[str, Any] | None = None,
) -> None:
    """Append one row; `details` is stored as jsonb (the pool's codec encodes it)."""
    await conn.execute(
        """INSERT INTO audit_log (actor_id, action, subject, reason, details)
           VALUES ($1, $2, $3, $4, $5)""",
        actor_id, action, subject, reason, details or {},
    )
