"""Payment reminders, politely: a ladder per bill, at most one message a retailer a Nepal day.

Each bill (an accepted order) climbs a ladder of days counted from its due date — a few days
before, the due day, then overdue at growing intervals and weekly after the last (`Rules`). A
bill that reached a step it was not reminded at makes its retailer due a reminder; that one
message lists everything due or overdue with each vendor, so the next bill's step may wait for
tomorrow's. A step missed (quiet hours, a pause day, the server down) is caught up once, at the
next chance, never repeated. Paid bills drop out at once (their outstanding is read live); a
bill with a problem reported, or an account with a payment in dispute or a claim waiting for the
vendor, is never reminded about.

Quiet hours (Nepal time) defer to the morning; pause days (Dashain, Tihar) send nothing. Every
decision is logged in `reminder_log` with its reason (a skip once a day per reason), and a
unique key on (retailer, kind, Nepal day) keeps any number of processes from sending twice.
Reads and writes are the system's own: the round is a periodic job and a CLI command.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Literal

import asyncpg

from ledger import payinfo
from ledger.lifecycle import BILLED_STATUSES, OPEN_BILL_STATUSES
from ledger.order_repo import PAID_SQL
from ledger.payinfo import PayDetail
from locales.formats import nepal_time

ReminderKind = Literal["due_soon", "due_today", "overdue"]
KINDS: tuple[ReminderKind, ...] = ("due_soon", "due_today", "overdue")
# What a reminder's WhatsApp template may take as body parameters, in the order settings name.
TEMPLATE_PARAMS = ("name", "shop", "total", "overdue", "due_date", "vendors", "count")
# WhatsApp's window for free text is 24 hours from the person's last message; an hour less
# leaves time to send what is queued now.
WINDOW = timedelta(hours=23)
BATCH = 100
MAX_BILLS = 200  # per retailer, per round: a bound, not a business rule
# Skips that settle the day: the retailer is not looked at again until tomorrow. A quiet-hours
# skip does not: the morning sends it.
QUIET = "quiet_hours"
_BILLED_CLOSED = [s for s in BILLED_STATUSES if s not in OPEN_BILL_STATUSES]


@dataclass(frozen=True)
class TemplateSpec:
    """An approved WhatsApp template for one kind of reminder: its name, and which of
    `TEMPLATE_PARAMS` fill its body parameters, in order."""

    name: str
    params: tuple[str, ...]

    def __post_init__(self) -> None:
        unknown = [p for p in self.params if p not in TEMPLATE_PARAMS]
        if not self.name or unknown:
            raise ValueError(f"template {self.name!r}: unknown parameters {unknown}; "
                             f"use {', '.join(TEMPLATE_PARAMS)}")


DEFAULT_TEMPLATES: Mapping[ReminderKind, TemplateSpec] = {
    "due_soon": TemplateSpec("khaacho_due_soon", ("name", "total", "due_date", "vendors")),
    "due_today": TemplateSpec("khaacho_due_today", ("name", "total", "vendors")),
    "overdue": TemplateSpec("khaacho_overdue", ("name", "overdue", "total", "vendors")),
}


@dataclass(frozen=True)
class Rules:
    """When reminders go: the deployment's settings (README: Reminders)."""

    ladder: tuple[int, ...] = (-3, 0, 1, 7, 15, 30)  # days from the due date; negative: before
    repeat_days: int = 7  # after the last step, every so many days; 0: no more
    quiet_from: time = time(20, 0)  # Nepal time; nothing is sent from here ...
    quiet_until: time = time(8, 0)  # ... until here (deferred to the morning)
    pause_days: frozenset[date] = frozenset()  # Nepal days nothing is sent (Dashain, Tihar)
    digest_at: time = time(8, 0)  # a vendor's morning digest goes from this time on
    # A claim waiting for the vendor holds that account's reminders for this many days (then
    # they go on: a claim nobody answers must not stop them for good).
    claim_hold_days: int = 3
    templates: Mapping[ReminderKind, TemplateSpec] = field(
        default_factory=lambda: dict(DEFAULT_TEMPLATES))
    batch: int = BATCH

    def __post_init__(self) -> None:
        if not self.ladder or list(self.ladder) != sorted(set(self.ladder)):
            raise ValueError(f"the reminder ladder must be distinct days in order: {self.ladder}")
        if self.ladder[0] < -60 or self.ladder[-1] > 3650:
            raise ValueError(f"reminder days out of range: {self.ladder}")
        if not 0 <= self.repeat_days <= 365:
            raise ValueError(f"repeat every 0..365 days, not {self.repeat_days}")
        if not 0 <= self.claim_hold_days <= 90:
            raise ValueError(f"a claim holds reminders 0..90 days, not {self.claim_hold_days}")
        if set(self.templates) != set(KINDS):
            raise ValueError(f"a template for each of {KINDS}")
        if not 1 <= self.batch <= 10_000:
            raise ValueError("batch must be 1..10000")

    def quiet(self, moment: datetime) -> bool:
        """Whether `moment` falls in quiet hours in Nepal (a window may span midnight)."""
        local = nepal_time(moment).time()
        if self.quiet_from == self.quiet_until:
            return False
        if self.quiet_from < self.quiet_until:
            return self.quiet_from <= local < self.quiet_until
        return local >= self.quiet_from or local < self.quiet_until

    def paused(self, moment: datetime) -> bool:
        return nepal_time(moment).date() in self.pause_days

    def step(self, days: int) -> int | None:
        """The highest step a bill `days` after its due date has reached (None: not yet).
        The SQL of the round computes the same (`_STEP`); a test checks they agree."""
        if days < self.ladder[0]:
            return None
        last = self.ladder[-1]
        if self.repeat_days and days > last:
            return last + (days - last) // self.repeat_days * self.repeat_days
        return max(s for s in self.ladder if s <= days)


@dataclass(frozen=True)
class Bill:
    order_id: int
    number: str
    vendor_id: int
    vendor_name: str
    outstanding_paisa: int
    due_at: datetime
    days: int  # days since the due date (Nepal days): negative before it, 0 on it
    step: int  # the ladder step it has reached
    reminded_step: int | None  # the last step a reminder named it at
    held: str  # "" or why it is not reminded about: "disputed", "claim_pending"

    @property
    def new_step(self) -> bool:
        return self.reminded_step is None or self.step > self.reminded_step


@dataclass(frozen=True)
class VendorDue:
    vendor_id: int
    vendor_name: str
    bills: tuple[Bill, ...]
    pay: tuple[PayDetail, ...]  # how the vendor asks to be paid ("payinfo …")

    @property
    def total_paisa(self) -> int:
        return sum(b.outstanding_paisa for b in self.bills)

    @property
    def overdue_paisa(self) -> int:
        return sum(b.outstanding_paisa for b in self.bills if b.days > 0)


@dataclass(frozen=True)
class Reminder:
    """The round's decision about one retailer: a reminder to send, or why none goes today."""

    retailer_id: int
    name: str
    shop_name: str
    phone: str | None
    outcome: Literal["send", "skip"]
    # The kind when sent; else why not: quiet_hours, pause_day, disputed, claim_pending, inactive.
    reason: str
    kind: ReminderKind | None = None
    vendors: tuple[VendorDue, ...] = ()
    left_out: tuple[Bill, ...] = ()  # due, but held: disputed or a claim waiting
    window_open: bool = False  # they wrote in the last 23 hours: plain text may go
    template: TemplateSpec | None = None  # the template this kind goes as outside the window

    @property
    def total_paisa(self) -> int:
        return sum(v.total_paisa for v in self.vendors)

    @property
    def overdue_paisa(self) -> int:
        return sum(v.overdue_paisa for v in self.vendors)

    @property
    def first_due_at(self) -> datetime | None:
        dues = [b.due_at for v in self.vendors for b in v.bills]
        return min(dues) if dues else None

    @property
    def bill_count(self) -> int:
        return sum(len(v.bills) for v in self.vendors)


# The highest ladder step reached by a bill `days` after its due date; $L is the ladder
# (ascending), $R the repeat interval after its last step. Mirrors `Rules.step`.
_STEP = """CASE WHEN b.days < {L}[1] THEN NULL
     WHEN {R} > 0 AND b.days > {L}[array_upper({L}, 1)]
     THEN {L}[array_upper({L}, 1)] + ((b.days - {L}[array_upper({L}, 1)]) / {R}) * {R}
     ELSE (SELECT max(s) FROM unnest({L}) s WHERE s <= b.days) END"""

# (A Nepal day's start is `(day)::timestamp AT TIME ZONE 'Asia/Kathmandu'`: a bare date would
# be cast to the session's time zone first.)
# Bills with something owed that reached the ladder's first step by `today` ($1), with the step
# reached, the last step reminded, and whether they are held. $2 open bill statuses, $3 billed
# and closed ones (reopened by a bounced payment), $4 the ladder, $5 the repeat interval, $6 the
# days a claim holds its account (counting today).
_BILLS = f"""
    WITH bills AS (
        SELECT o.id, o.number, o.retailer_id, o.vendor_id, v.shop_name AS vendor_name,
               o.due_at, o.total_paisa - {PAID_SQL} AS outstanding,
               $1::date - (o.due_at AT TIME ZONE 'Asia/Kathmandu')::date AS days
        FROM orders o JOIN vendors v ON v.user_id = o.vendor_id
        WHERE (o.status = ANY($2::text[])
               OR (o.status = ANY($3::text[]) AND o.id IN (
                   SELECT pa.order_id FROM payment_allocations pa
                   JOIN payments p ON p.id = pa.payment_id WHERE p.reversed)))
          AND o.due_at < (($1::date + 1 - ($4::int[])[1])::timestamp
                          AT TIME ZONE 'Asia/Kathmandu')
          {{retailers}}
    )
    SELECT b.*, {_STEP.format(L="($4::int[])", R="$5::int")} AS step,
           (SELECT max(rb.step) FROM reminder_bills rb WHERE rb.order_id = b.id) AS reminded,
           CASE WHEN EXISTS (
                    SELECT 1 FROM disputes d WHERE d.status = 'open'
                      AND (d.order_id = b.id OR (d.kind <> 'order_problem'
                           AND d.retailer_id = b.retailer_id AND d.vendor_id = b.vendor_id)))
                THEN 'disputed'
                WHEN EXISTS (
                    SELECT 1 FROM payment_claims c WHERE c.status = 'pending'
                      AND c.retailer_id = b.retailer_id AND c.vendor_id = b.vendor_id
                      AND c.created_at
                          >= (($1::date + 1 - $6::int)::timestamp AT TIME ZONE 'Asia/Kathmandu'))
                THEN 'claim_pending'
                ELSE '' END AS held
    FROM bills b WHERE b.outstanding > 0 AND b.days >= ($4::int[])[1]"""


def _bill_args(rules: Rules, today: date) -> list[Any]:
    return [today, list(OPEN_BILL_STATUSES), _BILLED_CLOSED, list(rules.ladder),
            rules.repeat_days, rules.claim_hold_days]


async def _candidates(
    conn: asyncpg.Connection, rules: Rules, today: date, quiet: bool, limit: int
) -> list[int]:
    """Retailers with a bill at a step not reminded yet and nothing settling their day logged
    (in quiet hours, nothing logged at all: one quiet-hours skip each is enough)."""
    rows = await conn.fetch(
        f"""SELECT s.retailer_id FROM ({_BILLS.format(retailers="")}) s
            WHERE s.step > COALESCE(s.reminded, -100000)
              AND NOT EXISTS (
                  SELECT 1 FROM reminder_log l
                  WHERE l.user_id = s.retailer_id AND l.kind = 'reminder' AND l.day = $1
                    AND ($7 OR l.outcome = 'sent' OR l.reason <> $8))
            GROUP BY s.retailer_id ORDER BY s.retailer_id LIMIT $9""",
        *_bill_args(rules, today), quiet, QUIET, limit)
    return [r["retailer_id"] for r in rows]


async def _bills(
    conn: asyncpg.Connection, rules: Rules, today: date, retailer_id: int
) -> list[Bill]:
    rows = await conn.fetch(
        f"""{_BILLS.format(retailers="AND o.retailer_id = $7")}
            ORDER BY b.vendor_name, b.vendor_id, b.due_at, b.id LIMIT $8""",
        *_bill_args(rules, today), retailer_id, MAX_BILLS)
    return [Bill(r["id"], r["number"], r["vendor_id"], r["vendor_name"], int(r["outstanding"]),
                 r["due_at"], r["days"], r["step"], r["reminded"], r["held"]) for r in rows]


async def last_heard(conn: asyncpg.Connection, user_id: int) -> datetime | None:
    """When this person last wrote to us (WhatsApp's window for free text runs from then)."""
    value: datetime | None = await conn.fetchval(
        """SELECT max(m.sent_at) FROM users u JOIN inbound_messages m
               ON m.sender = u.wa_id OR m.sender = u.wa_user_id
           WHERE u.id = $1""", user_id)
    return value


async def log(
    conn: asyncpg.Connection, *, user_id: int, kind: str, day: date, outcome: str, reason: str,
    now: datetime, template: str | None = None, details: dict[str, Any] | None = None,
) -> int | None:
    """One decision in `reminder_log`; None when it was already there (a second process sent
    today, or this skip was logged before)."""
    target = ("(user_id, kind, day) WHERE outcome = 'sent'" if outcome == "sent"
              else "(user_id, kind, day, reason) WHERE outcome = 'skipped'")
    log_id: int | None = await conn.fetchval(
        f"""INSERT INTO reminder_log (user_id, kind, day, outcome, reason, template, details, at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
            ON CONFLICT {target} DO NOTHING RETURNING id""",
        user_id, kind, day, outcome, reason, template, details or {}, now)
    return log_id


async def claim_person(conn: asyncpg.Connection, kind: str, user_id: int, day: date) -> bool:
    """Hold this person's reminder (or digest) for the rest of the transaction; False when
    another process holds it now (it decides; this round moves on)."""
    return bool(await conn.fetchval(
        "SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0))",
        f"{kind}:{user_id}:{day.isoformat()}"))


async def run(
    conn: asyncpg.Connection, rules: Rules, now: datetime, *, dry_run: bool = False,
    limit: int | None = None,
) -> list[Reminder]:
    """One round as of `now`: the decision about each retailer due a reminder (at most `limit`,
    default `rules.batch`). Unless `dry_run`, each is logged and what is sent is recorded per
    bill, in the caller's transaction; the caller queues the messages in that same transaction.
    A dry run writes nothing and takes no locks."""
    today = nepal_time(now).date()
    quiet = rules.quiet(now)
    decisions = []
    for retailer_id in await _candidates(conn, rules, today, quiet, limit or rules.batch):
        if not dry_run and not await claim_person(conn, "reminder", retailer_id, today):
            continue
        decision = await _decide(conn, rules, now, today, quiet, retailer_id, dry_run)
        if decision is not None:
            decisions.append(decision)
    return decisions


async def _decide(
    conn: asyncpg.Connection, rules: Rules, now: datetime, today: date, quiet: bool,
    retailer_id: int, dry_run: bool,
) -> Reminder | None:
    person = await conn.fetchrow(
        """SELECT u.name, u.phone, u.active, r.shop_name
           FROM users u JOIN retailers r ON r.user_id = u.id WHERE u.id = $1""", retailer_id)
    assert person is not None
    if not dry_run and await conn.fetchval(
            """SELECT EXISTS (SELECT 1 FROM reminder_log WHERE user_id = $1 AND kind = 'reminder'
                              AND day = $2 AND outcome = 'sent')""", retailer_id, today):
        return None  # sent by another process after this round read its candidates
    who = {"retailer_id": retailer_id, "name": person["name"], "shop_name": person["shop_name"],
           "phone": person["phone"]}
    bills = await _bills(conn, rules, today, retailer_id)
    held = tuple(b for b in bills if b.held and b.new_step)
    skip = None
    if not person["active"]:
        skip = "inactive"
    elif rules.paused(now):
        skip = "pause_day"
    elif quiet:
        skip = QUIET
    elif not any(b.new_step and not b.held for b in bills):
        skip = "disputed" if any(b.held == "disputed" for b in held) else "claim_pending"
    if skip is not None:
        decision = Reminder(**who, outcome="skip", reason=skip, left_out=held)
        if not dry_run:
            await log(conn, user_id=retailer_id, kind="reminder", day=today, outcome="skipped",
                      reason=skip, now=now, details=_details(decision))
        return decision
    listed = [b for b in bills if not b.held]
    kind: ReminderKind = ("overdue" if any(b.days > 0 for b in listed)
                          else "due_today" if any(b.days == 0 for b in listed) else "due_soon")
    details = await payinfo.of_vendors(conn, sorted({b.vendor_id for b in listed}))
    vendors: list[VendorDue] = []
    for bill in listed:
        if not vendors or vendors[-1].vendor_id != bill.vendor_id:
            vendors.append(VendorDue(bill.vendor_id, bill.vendor_name, (),
                                     tuple(details.get(bill.vendor_id, ()))))
        last = vendors[-1]
        vendors[-1] = VendorDue(last.vendor_id, last.vendor_name, (*last.bills, bill), last.pay)
    heard = await last_heard(conn, retailer_id)
    window_open = heard is not None and now - heard < WINDOW
    decision = Reminder(**who, outcome="send", reason=kind, kind=kind, vendors=tuple(vendors),
                        left_out=tuple(b for b in bills if b.held), window_open=window_open,
                        template=rules.templates[kind])
    if not dry_run:
        log_id = await log(conn, user_id=retailer_id, kind="reminder", day=today,
                           outcome="sent", reason=kind, now=now,
                           template=None if window_open else rules.templates[kind].name,
                           details=_details(decision))
        if log_id is None:
            return None
        await conn.executemany(
            "INSERT INTO reminder_bills (log_id, order_id, step) VALUES ($1, $2, $3)",
            [(log_id, b.order_id, b.step) for b in listed])
    return decision


def _details(decision: Reminder) -> dict[str, Any]:
    """What the log keeps of a decision: the bills named, at their step, and those held."""
    return {
        "bills": [{"order": b.number, "step": b.step, "days": b.days,
                   "outstanding_paisa": b.outstanding_paisa}
                  for v in decision.vendors for b in v.bills],
        "held": [{"order": b.number, "why": b.held} for b in decision.left_out],
        "window_open": decision.window_open,
    }


@dataclass(frozen=True)
class Logged:
    user_id: int
    kind: str
    day: date
    outcome: str
    reason: str
    template: str | None
    details: Mapping[str, Any]
    at: datetime
    orders: tuple[str, ...]


async def logged(
    conn: asyncpg.Connection, *, user_id: int | None = None, day: date | None = None,
    limit: int = 100,
) -> list[Logged]:
    """The log, newest first (operators and tests read it)."""
    rows = await conn.fetch(
        """SELECT l.*, ARRAY(SELECT o.number FROM reminder_bills rb
                             JOIN orders o ON o.id = rb.order_id
                             WHERE rb.log_id = l.id ORDER BY o.number) AS orders
           FROM reminder_log l
           WHERE ($1::bigint IS NULL OR l.user_id = $1) AND ($2::date IS NULL OR l.day = $2)
           ORDER BY l.id DESC LIMIT $3""", user_id, day, min(limit, 1000))
    return [Logged(r["user_id"], r["kind"], r["day"], r["outcome"], r["reason"], r["template"],
                   r["details"], r["at"], tuple(r["orders"])) for r in rows]
