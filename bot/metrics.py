"""Prometheus metrics of the channel. Gauges read from the database (outbox depth and ages, the
webhook quarantine) are refreshed in the background every few seconds, never per scrape.

The oldest unsent age is also given per recipient backlog (`backlog` label), so a flood to a few
recipients cannot hide how long everyone else waits:
  one      recipients with exactly one pending message (typical: a user who just wrote);
  few      recipients with 2 to FLOODED_AT - 1 pending messages;
  flooded  recipients with FLOODED_AT or more pending messages.
A class with no pending message reports 0.

The ledger check is too big to run per scrape: the server runs it periodically and the gauges
hold its last result (problems NaN until the first check has finished).
"""

from __future__ import annotations

import time

import asyncpg
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

FLOODED_AT = 10
BACKLOGS = ("one", "few", "flooded")

INBOUND_RECEIVED = Counter(
    "khaacho_inbound_messages_total", "Inbound WhatsApp messages stored", ["kind"])
INBOUND_HANDLED = Counter(
    "khaacho_inbound_handled_total", "Inbound messages handled, by outcome", ["outcome"])
HANDLING_SECONDS = Histogram(
    "khaacho_handling_seconds", "Time to handle one inbound message",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
OUTBOUND = Counter(
    "khaacho_outbound_messages_total",
    "Outbound send outcomes: sent, retry, failed, ambiguous (no answer; waits for its status), "
    "confirmed (settled by a status webhook), resent (no status came), paused_recipient (131056)",
    ["result"])
OUTBOX_DEPTH = Gauge("khaacho_outbox_depth", "Messages waiting in the outbox")
OUTBOX_OLDEST = Gauge("khaacho_outbox_oldest_unsent_seconds", "Age of the oldest unsent message")
OUTBOX_OLDEST_BY_BACKLOG = Gauge(
    "khaacho_outbox_oldest_unsent_by_backlog_seconds",
    f"Age of the oldest unsent message, by the recipient's pending count: one, few (2 to "
    f"{FLOODED_AT - 1}), flooded ({FLOODED_AT} or more)", ["backlog"])
OUTBOX_IN_FLIGHT = Gauge(
    "khaacho_outbox_in_flight",
    "Messages being sent, or waiting for the status of an unanswered send")
OUTBOX_FAILED = Gauge("khaacho_outbox_failed", "Messages that failed for good (operators look)")
LEDGER_CHECK_PROBLEMS = Gauge(
    "khaacho_ledger_check_problems", "Breaks the last ledger check found (0: consistent)")
LEDGER_CHECK_PROBLEMS.set(float("nan"))
LEDGER_CHECK_LAST_RUN = Gauge(
    "khaacho_ledger_check_last_run_timestamp_seconds", "When the last ledger check finished")
WEBHOOK_QUARANTINED = Counter(
    "khaacho_webhook_quarantined_total", "Webhook items set aside unread, by kind", ["kind"])
QUARANTINE_ROWS = Gauge(
    "khaacho_webhook_quarantine", "Items kept in the webhook quarantine (operators look)")
LISTENER_RESTARTS = Counter(
    "khaacho_listener_restarts_total",
    "Times a worker listened to its NOTIFY channel again after losing the connection", ["channel"])

CONTENT_TYPE = CONTENT_TYPE_LATEST


def ledger_checked(problems: int) -> None:
    """Record a finished ledger check."""
    LEDGER_CHECK_PROBLEMS.set(problems)
    LEDGER_CHECK_LAST_RUN.set(time.time())


async def refresh(conn: asyncpg.Connection) -> None:
    """Read the database gauges (every METRICS_REFRESH_SECONDS, from the app's background task)."""
    await refresh_outbox(conn)
    QUARANTINE_ROWS.set(await conn.fetchval("SELECT count(*) FROM webhook_quarantine"))


def render() -> bytes:
    """What a scrape gets: the last refreshed values; no database work per request."""
    return generate_latest()


async def refresh_outbox(conn: asyncpg.Connection) -> None:
    """Set the outbox gauges from the database (one pass over the pending rows)."""
    row = await conn.fetchrow(
        """SELECT (SELECT count(*) FROM outbox WHERE status = 'pending') AS depth,
                  (SELECT count(*) FROM outbox
                    WHERE status = 'pending' AND sending_since IS NOT NULL) AS in_flight,
                  (SELECT count(*) FROM outbox WHERE status = 'failed') AS failed""")
    by_backlog = {r["backlog"]: float(r["oldest"]) for r in await conn.fetch(
        """SELECT CASE WHEN n = 1 THEN 'one' WHEN n < $1 THEN 'few' ELSE 'flooded' END
                      AS backlog,
                  extract(epoch FROM now() - min(oldest)) AS oldest
           FROM (SELECT count(*) AS n, min(created_at) AS oldest FROM outbox
                  WHERE status = 'pending' GROUP BY recipient) AS per_recipient
           GROUP BY 1""", FLOODED_AT)}
    OUTBOX_DEPTH.set(row["depth"])
    OUTBOX_IN_FLIGHT.set(row["in_flight"])
    OUTBOX_FAILED.set(row["failed"])
    OUTBOX_OLDEST.set(max(by_backlog.values(), default=0.0))
    for backlog in BACKLOGS:
        OUTBOX_OLDEST_BY_BACKLOG.labels(backlog=backlog).set(by_backlog.get(backlog, 0.0))
