"""The audit log: who did what to whom and why, for every admin decision about money."""

from __future__ import annotations

from typing import Any

import asyncpg


async def audit(
    conn: asyncpg.Connection, actor_id: int | None, action: str, subject: str, reason: str,
    details: dict[str, Any],
) -> None:
    """Append one row; `details` is stored as jsonb (the pool's codec encodes it)."""
    await conn.execute(
        """INSERT INTO audit_log (actor_id, action, subject, reason, details)
           VALUES ($1, $2, $3, $4, $5)""",
        actor_id, action, subject, reason, details,
    )
