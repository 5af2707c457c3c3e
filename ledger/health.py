"""How the channel is doing, read from the database in one place: what `/metrics` exports, what
the staff "today" page shows and what the operator alerts (`dialogs.alerts`) decide on.

`read` is one pass over the pending outbox and the unhandled inbox (both have partial indexes on
exactly those rows) plus the failed messages grouped by reason; the server runs it every
METRICS_REFRESH_SECONDS, never per scrape or per page.

A failed message's reason is the code WhatsApp gave when there was one (`131026`), else what
kind of failure it was (`no_answer`: no reply and no status webhook); the few most common are
kept apart and the rest summed as `other`, so the label's values stay few.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import asyncpg

FLOODED_AT = 10
BACKLOGS = ("one", "few", "flooded")
REASONS_KEPT = 12

# The reason a failed outbox row failed for, from its `last_error` (bot/sender.py, bot/store.py).
_REASON = r"""COALESCE(
    substring(last_error FROM '^Graph API error ([0-9]+)'),
    substring(last_error FROM '^delivery failed: ([0-9]+)'),
    'http_' || substring(last_error FROM '^Graph API error None \(HTTP ([0-9]+)'),
    CASE WHEN last_error LIKE 'no answer%' THEN 'no_answer' ELSE 'other' END)"""


@dataclass(frozen=True)
class Backlog:
    """The queues at one moment (ages in seconds; 0 when the queue is empty)."""

    outbox_depth: int
    outbox_in_flight: int
    outbox_oldest_seconds: float
    outbox_oldest_by_backlog: dict[str, float]
    failed: int
    failed_by_reason: dict[str, int]
    inbox_depth: int
    inbox_oldest_seconds: float
    quarantined: int
    read_at: datetime = field(compare=False)


async def read(conn: asyncpg.Connection) -> Backlog:
    """The outbox, inbox and quarantine as they are now."""
    row = await conn.fetchrow(
        """SELECT now() AS at,
                  (SELECT count(*) FROM outbox WHERE status = 'pending') AS depth,
                  (SELECT count(*) FROM outbox
                    WHERE status = 'pending' AND sending_since IS NOT NULL) AS in_flight,
                  (SELECT count(*) FROM outbox WHERE status = 'failed') AS failed,
                  (SELECT count(*) FROM inbound_messages WHERE handled_at IS NULL) AS inbox,
                  (SELECT COALESCE(extract(epoch FROM now() - min(received_at)), 0)
                     FROM inbound_messages WHERE handled_at IS NULL) AS inbox_oldest,
                  (SELECT count(*) FROM webhook_quarantine) AS quarantined""")
    by_backlog = {r["backlog"]: float(r["oldest"]) for r in await conn.fetch(
        """SELECT CASE WHEN n = 1 THEN 'one' WHEN n < $1 THEN 'few' ELSE 'flooded' END
                      AS backlog,
                  extract(epoch FROM now() - min(oldest)) AS oldest
           FROM (SELECT count(*) AS n, min(created_at) AS oldest FROM outbox
                  WHERE status = 'pending' GROUP BY recipient) AS per_recipient
           GROUP BY 1""", FLOODED_AT)}
    reasons = [(r["reason"], int(r["n"])) for r in await conn.fetch(
        f"""SELECT {_REASON} AS reason, count(*) AS n FROM outbox WHERE status = 'failed'
            GROUP BY 1 ORDER BY 2 DESC, 1""")]
    by_reason = dict(reasons[:REASONS_KEPT])
    if len(reasons) > REASONS_KEPT:
        by_reason["other"] = by_reason.get("other", 0) + sum(n for _, n in reasons[REASONS_KEPT:])
    return Backlog(
        outbox_depth=int(row["depth"]), outbox_in_flight=int(row["in_flight"]),
        outbox_oldest_seconds=max(by_backlog.values(), default=0.0),
        outbox_oldest_by_backlog={b: by_backlog.get(b, 0.0) for b in BACKLOGS},
        failed=int(row["failed"]), failed_by_reason=by_reason,
        inbox_depth=int(row["inbox"]), inbox_oldest_seconds=float(row["inbox_oldest"]),
        quarantined=int(row["quarantined"]), read_at=row["at"])


@dataclass(frozen=True)
class Sending:
    """How sending went over a recent window: messages created in it that failed (for good, or
    still pending after a failed try), messages sent in it, and the oldest unsent's age."""

    failed: int
    sent: int
    oldest_unsent_seconds: float


# The window is looked for among the newest outbox rows only (by id, the primary key): the
# outbox keeps every message ever sent, and this runs every few seconds.
RECENT_ROWS = 2000


async def sending(conn: asyncpg.Connection, now: datetime, window: timedelta) -> Sending:
    """Whether the sender gets anything through: failures counted by the message's creation
    (the outbox keeps no failure time; a message fails within its tries of being queued)."""
    row = await conn.fetchrow(
        """SELECT count(*) FILTER (WHERE created_at >= $1 AND (status = 'failed'
                      OR (status = 'pending' AND attempts > 0 AND last_error IS NOT NULL)))
                      AS failed,
                  count(*) FILTER (WHERE status = 'sent' AND sent_at >= $1) AS sent
           FROM (SELECT status, attempts, last_error, created_at, sent_at FROM outbox
                  ORDER BY id DESC LIMIT $2) AS recent""", now - window, RECENT_ROWS)
    oldest = await conn.fetchval(
        """SELECT COALESCE(extract(epoch FROM $1 - min(created_at)), 0) FROM outbox
           WHERE status = 'pending'""", now)
    return Sending(int(row["failed"]), int(row["sent"]), max(float(oldest), 0.0))
