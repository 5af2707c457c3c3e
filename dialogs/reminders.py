"""Turns the reminder round's decisions into messages: a retailer's reminder (text inside the
24-hour window, the approved template of its kind outside it) and a vendor's morning digest.
The periodic jobs and `khaacho reminders run` both build them here, so a dry run shows exactly
what the round would send."""

from __future__ import annotations

from typing import Any

from ledger.digests import Digest
from ledger.reminders import Reminder
from locales.replies import Param, Reply, Template

MAX_VENDORS_SHOWN = 5
MAX_BILLS_SHOWN = 4  # per vendor; the vendor's total still counts them all


def context(decision: Reminder) -> dict[str, Any]:
    """What the reminder's templates read (also shown by a dry run)."""
    vendors = [{
        "vendor_name": v.vendor_name, "total_paisa": v.total_paisa,
        "overdue_paisa": v.overdue_paisa,
        "bills": [{"number": b.number, "outstanding_paisa": b.outstanding_paisa,
                   "due_at": b.due_at, "days": b.days} for b in v.bills[:MAX_BILLS_SHOWN]],
        "more_bills": max(0, len(v.bills) - MAX_BILLS_SHOWN),
        "pay": [{"method": p.method, "details": p.details} for p in v.pay],
    } for v in decision.vendors[:MAX_VENDORS_SHOWN]]
    return {"kind": decision.kind, "name": decision.name, "vendors": vendors,
            "more_vendors": max(0, len(decision.vendors) - MAX_VENDORS_SHOWN),
            "total_paisa": decision.total_paisa, "overdue_paisa": decision.overdue_paisa,
            "first_due_at": decision.first_due_at}


def _param(name: str, decision: Reminder) -> Param:
    if name == "name":
        return Param(decision.name)
    if name == "shop":
        return Param(decision.shop_name)
    if name == "total":
        return Param(decision.total_paisa, "money")
    if name == "overdue":
        return Param(decision.overdue_paisa, "money")
    if name == "due_date":
        due = decision.first_due_at
        return Param(due, "day") if due is not None else Param("-")
    if name == "vendors":
        return Param("reminder_summary", "message")
    if name == "count":
        return Param(decision.bill_count, "number")
    raise ValueError(f"unknown reminder parameter {name!r}")


def reminder(decision: Reminder) -> Reply:
    """The one message of the day to a retailer due a reminder."""
    assert decision.outcome == "send" and decision.template is not None, decision
    spec = decision.template
    return Reply(
        "reminder", context(decision), to_user_id=decision.retailer_id,
        whatsapp_template=Template(spec.name, tuple(_param(p, decision) for p in spec.params)),
        window_closed=not decision.window_open)


def digest(found: Digest) -> Reply:
    """A vendor's morning digest."""
    return Reply("vendor_digest", {
        "name": found.name, "ageing": found.ageing, "debtors": found.debtors,
        "more_debtors": max(0, found.debtor_count - len(found.debtors)),
        "received_count": found.received_count, "received_paisa": found.received_paisa,
        "pending_claims": found.pending_claims, "open_disputes": found.open_disputes,
    }, to_user_id=found.vendor_id)
