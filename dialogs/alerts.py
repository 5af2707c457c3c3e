"""One WhatsApp message to every operator and admin when something needs a person, not one per
failed message: the sender has got nothing through for a while (every send failing, or the
oldest unsent message waiting too long), or the ledger check found a break. When it clears, one
"resolved" message follows.

Each alert's state is a row (ledger.alerts): raising and clearing are atomic, so however many
processes run the check, exactly one tells operators that an incident began, and only a new
incident, after it cleared, tells them again.

The catch: when the sender is what is failing, the alert goes into the same outbox. It is queued
all the same (it is sent when WhatsApp answers again, within its tries like any message) and the
same words are logged at ERROR level, which reaches whoever reads the log even while WhatsApp
does not (docs/operations.md: Seeing trouble).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from ledger import alerts, health, users
from locales.replies import Reply

log = logging.getLogger(__name__)

SENDER = "sender"
LEDGER_CHECK = "ledger_check"


@dataclass(frozen=True)
class Rules:
    window: timedelta       # the sender is failing: in this window, min_failed failed, none sent
    min_failed: int
    oldest_unsent: timedelta  # or a message has waited unsent this long


async def _tell(conn: asyncpg.Connection, name: str, cleared: bool,
                context: Mapping[str, object]) -> list[Reply]:
    staff = await users.staff_ids(conn)
    return [Reply("operator_alert", {"alert": name, "cleared": cleared, **context},
                  to_user_id=person) for person in staff]


async def watch_sending(conn: asyncpg.Connection, rules: Rules, now: datetime) -> list[Reply]:
    """Raise the sender alert when nothing gets through; clear it once a message is sent again
    and nothing waits too long (an empty quiet window proves nothing, so it does not clear)."""
    seen = await health.sending(conn, now, rules.window)
    failing = seen.failed >= rules.min_failed and seen.sent == 0
    stuck = seen.oldest_unsent_seconds >= rules.oldest_unsent.total_seconds()
    context = {"failed": seen.failed, "minutes": max(1, round(rules.window.total_seconds() / 60)),
               "waiting": int(seen.oldest_unsent_seconds // 60), "stuck": stuck}
    if failing or stuck:
        detail = (f"{seen.failed} failed and none sent in {rules.window}; oldest unsent "
                  f"{seen.oldest_unsent_seconds:.0f}s")
        if not await alerts.raise_(conn, SENDER, now, detail):
            return []
        # Logged too: this alert may wait in the very outbox that is not being sent.
        log.error("operator alert: WhatsApp sending is failing: %s", detail)
        return await _tell(conn, SENDER, False, context)
    if seen.sent > 0 and (cleared := await alerts.clear(conn, SENDER, now)) is not None:
        log.warning("operator alert cleared: WhatsApp sending works again (raised %s)",
                    cleared.raised_at.isoformat())
        return await _tell(conn, SENDER, True, {**context, "since": cleared.raised_at})
    return []


async def ledger_checked(conn: asyncpg.Connection, problems: int, summary: str,
                         now: datetime) -> list[Reply]:
    """After a ledger check: raise its alert on a break, clear it on a clean check."""
    if problems > 0:
        if not await alerts.raise_(conn, LEDGER_CHECK, now, summary):
            return []
        log.error("operator alert: the ledger check failed: %s", summary)
        return await _tell(conn, LEDGER_CHECK, False, {"problems": problems})
    cleared = await alerts.clear(conn, LEDGER_CHECK, now)
    if cleared is None:
        return []
    log.warning("operator alert cleared: the ledger check passes again")
    return await _tell(conn, LEDGER_CHECK, True, {"problems": 0, "since": cleared.raised_at})
