"""The state of operator alerts (table operator_alerts, migration 029): whether each is raised,
changed atomically so that exactly one transaction, in whichever process, learns that an
incident began (and tells operators) and exactly one that it ended.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg


@dataclass(frozen=True)
class Alert:
    name: str
    raised_at: datetime
    cleared_at: datetime | None
    detail: str
    incidents: int


def _alert(row: asyncpg.Record | None) -> Alert | None:
    if row is None:
        return None
    return Alert(row["name"], row["raised_at"], row["cleared_at"], row["detail"],
                 row["incidents"])


async def raise_(conn: asyncpg.Connection, name: str, seen_at: datetime, detail: str) -> bool:
    """Raise `name`, as seen at `seen_at`; True only if it was not raised already (a new
    incident). Two processes raising at once: the row lock makes the second wait and find it
    raised. An observation older than the alert's last clearing changes nothing: a slow ledger
    check that began before a repair must not raise again what a later check cleared."""
    changed = await conn.fetchval(
        """INSERT INTO operator_alerts (name, raised_at, detail) VALUES ($1, $2, $3)
           ON CONFLICT (name) DO UPDATE
               SET raised_at = EXCLUDED.raised_at, cleared_at = NULL,
                   detail = EXCLUDED.detail, incidents = operator_alerts.incidents + 1
               WHERE operator_alerts.cleared_at IS NOT NULL
                 AND operator_alerts.cleared_at < EXCLUDED.raised_at
           RETURNING true""", name, seen_at, detail[:500])
    return bool(changed)


async def clear(conn: asyncpg.Connection, name: str, seen_at: datetime) -> Alert | None:
    """Clear `name`, as seen at `seen_at`; the alert as it was raised, only if it was raised
    before that (the incident ended)."""
    return _alert(await conn.fetchrow(
        """UPDATE operator_alerts SET cleared_at = $2
           WHERE name = $1 AND cleared_at IS NULL AND raised_at < $2
           RETURNING name, raised_at, cleared_at, detail, incidents""", name, seen_at))


async def raised(conn: asyncpg.Connection) -> list[Alert]:
    """The alerts raised now, oldest first."""
    return [a for a in map(_alert, await conn.fetch(
        """SELECT name, raised_at, cleared_at, detail, incidents FROM operator_alerts
           WHERE cleared_at IS NULL ORDER BY raised_at, name""")) if a is not None]
