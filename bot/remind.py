"""`khaacho reminders run [--at ISO-DATETIME] [--dry-run] [--json]`: one round of payment
reminders and vendors' digests as of a moment, the same round the server's jobs run.

Without `--dry-run` the round is logged and its messages queued in one transaction (a running
server's sender delivers them). With it nothing is written or queued: each decision is printed
with the message it would send — as text inside the 24-hour window, else as its template and
parameters — and why.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg

from bot import outgoing
from bot.outbound import Outbound
from bot.settings import Settings
from bot.store import payload_text
from dialogs import reminders as views
from ledger import digests, reminders, users
from ledger.reminders import Reminder
from locales import formats
from locales.numbers import mask
from locales.render import Messages
from locales.replies import Reply

# One run looks at this many retailers and as many vendors; another run takes the rest.
LIMIT = 1000


@dataclass(frozen=True)
class Shown:
    """A decision as printed: what would go (or went), to whom, and why."""

    fields: dict[str, Any]

    def line(self) -> str:
        f = self.fields
        who = f"{f['name']} ({f['phone']})"
        if f["outcome"] == "skip":
            return f"skip  {f['kind']:<8} {who}: {f['reason']}"
        how = f"template {f['template']}" if f["sent_as"] == "template" else "text"
        return f"send  {f['kind']:<8} {who}: {f['reason']}, {how}"


async def run(conn: asyncpg.Connection, settings: Settings, rules: reminders.Rules,
              at: datetime | None, *, dry_run: bool) -> list[Shown]:
    now = at or datetime.now(UTC)
    messages = Messages()
    async with conn.transaction():
        decided = await reminders.run(conn, rules, now, dry_run=dry_run, limit=LIMIT)
        found = await digests.run(conn, rules, now, dry_run=dry_run, limit=LIMIT)
        replies: list[tuple[Reminder | None, Reply | None, int]] = [
            (d, views.reminder(d) if d.outcome == "send" else None, d.retailer_id)
            for d in decided]
        replies += [(None, views.digest(d), d.vendor_id) for d in found]
        if not dry_run:
            await Outbound(settings, messages).send(conn, [r for _, r, _ in replies if r])
        return [await _shown(conn, settings, messages, decision, reply, user_id)
                for decision, reply, user_id in replies]


async def _shown(conn: asyncpg.Connection, settings: Settings, messages: Messages,
                 decision: Reminder | None, reply: Reply | None, user_id: int) -> Shown:
    person = await users.by_id(conn, user_id)
    assert person is not None
    fields: dict[str, Any] = {
        "kind": "reminder" if decision is not None else "digest", "user_id": user_id,
        "name": person.name, "phone": mask(person.phone), "language": person.language,
        "outcome": decision.outcome if decision is not None else "send",
        "reason": decision.reason if decision is not None else "morning",
    }
    if decision is not None:
        fields["bills"] = [
            {"order": b.number, "vendor": b.vendor_name, "outstanding_paisa": b.outstanding_paisa,
             "due": formats.nepal_time(b.due_at).date().isoformat(), "days": b.days,
             "step": b.step} for v in decision.vendors for b in v.bills]
        fields["held"] = [{"order": b.number, "why": b.held} for b in decision.left_out]
    if reply is not None:
        payload = outgoing.build(messages, person.language, reply)
        fields["message"] = payload_text(payload)
        fields["sent_as"] = "template" if reply.window_closed else "text"
        fields["template"] = None
        if reply.whatsapp_template is not None:
            code = (settings.whatsapp_template_language_ne if person.language == "ne"
                    else settings.whatsapp_template_language_en)
            body = outgoing.named_template(messages, person.language, reply,
                                           reply.whatsapp_template, code)["template"]
            fields["template"] = body["name"]
            fields["template_params"] = [p["text"] for c in body.get("components", ())
                                         for p in c["parameters"]]
    return Shown(fields)


def print_round(shown: list[Shown], *, at: datetime | None, dry_run: bool,
                as_json: bool) -> str:
    if as_json:
        return json.dumps({"at": (at or datetime.now(UTC)).isoformat(), "dry_run": dry_run,
                           "decisions": [s.fields for s in shown]},
                          ensure_ascii=False, indent=2, default=str)
    sent = sum(1 for s in shown if s.fields["outcome"] == "send")
    lines = [s.line() for s in shown]
    verb = "would send" if dry_run else "queued"
    lines.append(f"{verb} {sent} message(s); {len(shown) - sent} skipped")
    return "\n".join(lines)
