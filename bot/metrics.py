"""Prometheus metrics of the channel. Gauges read from the database (outbox depth and age, the
webhook quarantine) are refreshed in the background every few seconds, never per scrape.

The ledger check is too big to run per scrape: the server runs it periodically and the gauges
hold its last result (problems NaN until the first check has finished).
"""

from __future__ import annotations

import time

import asyncpg
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

INBOUND_RECEIVED = Counter(
    "khaacho_inbound_messages_total", "Inbound WhatsApp messages stored", ["kind"])
INBOUND_HANDLED = Counter(
    "khaacho_inbound_handled_total", "Inbound messages handled, by outcome", ["outcome"])
HANDLING_SECONDS = Histogram(
    "khaacho_handling_seconds", "Time to handle one inbound message",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
OUTBOUND = Counter(
    "khaacho_outbound_messages_total", "Outbound send attempts, by result", ["result"])
OUTBOX_DEPTH = Gauge("khaacho_outbox_depth", "Messages waiting in the outbox")
OUTBOX_OLDEST = Gauge("khaacho_outbox_oldest_unsent_seconds", "Age of the oldest unsent message")
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

CONTENT_TYPE = CONTENT_TYPE_LATEST


def ledger_checked(problems: int) -> None:
    """Record a finished ledger check."""
    LEDGER_CHECK_PROBLEMS.set(problems)
    LEDGER_CHECK_LAST_RUN.set(time.time())


async def refresh(conn: asyncpg.Connection) -> None:
    """Read the database gauges (every METRICS_REFRESH_SECONDS, from the app's background task)."""
    row = await conn.fetchrow(
        """SELECT (SELECT count(*) FROM outbox WHERE status = 'pending') AS depth,
                  (SELECT coalesce(extract(epoch FROM now() - min(created_at)), 0)
                     FROM outbox WHERE status = 'pending') AS oldest,
                  (SELECT count(*) FROM outbox WHERE status = 'failed') AS failed,
                  (SELECT count(*) FROM webhook_quarantine) AS quarantined""")
    OUTBOX_DEPTH.set(row["depth"])
    OUTBOX_OLDEST.set(float(row["oldest"]))
    OUTBOX_FAILED.set(row["failed"])
    QUARANTINE_ROWS.set(row["quarantined"])


def render() -> bytes:
    """What a scrape gets: the last refreshed values; no database work per request."""
    return generate_latest()
