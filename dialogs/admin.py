"""Admins and operators run Khaacho by command: approve or block people, add vendors and
retailers, set credit limits (with a reason), override a limit for one order, today's report,
a retailer's statement and credit score, the disputes waiting for them, suggested credit limits
(approved or dismissed with a tap; "suggestions" lists those waiting). Operators may do all but
the money decisions, which are the admin's — the services check that; this dialog reads commands
and explains the answers."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from dialogs import buttons, limits, scores, staff, words
from dialogs.machine import Table
from dialogs.retailer.ordering import draft_revision
from dialogs.routing import ANYTHING, Dialog, route, said, tapped, typed
from dialogs.turn import Turn
from ledger import credit, disputes, orders, registrations, reports, users
from ledger.errors import LedgerError
from ledger.users import User
from locales import numbers
from locales.formats import NEPAL_TIME

TABLE = Table(
    "admin",
    states=["idle", "reason"],
    initial="idle",
    doc="Commands of admins and operators; a limit given without a reason asks for one.",
    transitions=[
        {"trigger": "command", "source": "*", "dest": "idle",
         "doc": "a command or a tapped Approve / Block, answered"},
        {"trigger": "ask_reason", "source": "idle", "dest": "reason",
         "doc": "a credit limit needs a reason"},
        {"trigger": "reason_given", "source": "reason", "dest": "idle"},
        {"trigger": "unknown", "source": "*", "dest": None, "doc": "not a command: hint at help"},
        {"trigger": "help", "source": "*", "dest": None},
        {"trigger": "cancel", "source": "*", "dest": "idle"},
    ],
)

STATEMENT_DAYS = 30
MAX_STATEMENT_LINES = 15

_COMMAND = re.compile(r"^\s*(approve|unblock|block|add|role|limit|override|report|statement|"
                      r"pending|score|disputes?|suggestions?|sujhav|सुझाव)\b\s*(.*)$",
                      re.IGNORECASE | re.DOTALL)


async def _tapped_decision(turn: Turn) -> None:
    """Approve or Block tapped under a registration request."""
    tap = turn.tap
    assert tap is not None
    target = await users.by_public_id(turn.conn, tap.ref)
    if target is None:
        turn.say("user_unknown", phone=tap.ref)
        turn.move("command")
        return
    if tap.action == "approve":
        await _approve_user(turn, target, "RETAILER")
    else:
        await _block_user(turn, target, "")


async def _command(turn: Turn) -> None:
    """A typed command: approve, unblock, block, add, limit, override, report, statement…"""
    match = _COMMAND.match(turn.text)
    assert match is not None
    command, rest = match.group(1).lower(), " ".join(match.group(2).split())
    await _COMMANDS[command](turn, rest)


async def _known(turn: Turn, text: str) -> tuple[User, str, str] | None:
    """The person a command names, their phone and the rest; or None, having said we do not
    know them."""
    target, phone, rest = await _named(turn, text)
    if target is None:
        turn.say("user_unknown", phone=phone)
        turn.move("command")
        return None
    return target, phone, rest


async def _named(turn: Turn, text: str) -> tuple[User | None, str, str]:
    """The person a command names by phone (however spaced), the phone, and the rest."""
    phone, rest = numbers.leading_phone(text)
    if phone is None:
        return None, text or "?", rest
    return await users.by_phone(turn.conn, phone), phone, rest


async def _approve(turn: Turn, rest: str) -> None:
    """approve <phone> [vendor|retailer]"""
    known = await _known(turn, rest)
    if known is None:
        return
    target, _, more = known
    role = "VENDOR" if more.lower().split()[:1] == ["vendor"] else "RETAILER"
    await _approve_user(turn, target, role)


async def _approve_user(turn: Turn, target: User, role: str) -> None:
    try:
        done = await staff.approve(turn.conn, turn.user, target, role,  # type: ignore[arg-type]
                                   starter_limit_paisa=turn.policy.starter_limit_paisa)
    except LedgerError as error:
        turn.refuse(error, action="approve")
        turn.move("command")
        return
    approved = done.user
    turn.say("user_approved", name=approved.name, phone=approved.phone or approved.address,
             role=approved.role, limit_paisa=done.limit_paisa)
    turn.replies.extend(done.tell)
    turn.move("command")


async def _unblock(turn: Turn, rest: str) -> None:
    """unblock <phone>"""
    known = await _known(turn, rest)
    if known is None:
        return
    target, _, reason = known
    try:
        unblocked, tell = await staff.unblock(turn.conn, turn.user, target, reason)
    except LedgerError as error:
        turn.refuse(error, action="unblock")
        turn.move("command")
        return
    turn.say("user_unblocked", name=unblocked.name, phone=unblocked.phone or unblocked.address,
             active=unblocked.active)
    turn.replies.extend(tell)
    turn.move("command")


async def _block(turn: Turn, rest: str) -> None:
    """block <phone> [reason]"""
    known = await _known(turn, rest)
    if known is not None:
        await _block_user(turn, known[0], known[2])


async def _block_user(turn: Turn, target: User, reason: str) -> None:
    try:
        done, tell = await staff.block(turn.conn, turn.parser, turn.user, target, reason)
    except LedgerError as error:
        turn.refuse(error, action="block")
        turn.move("command")
        return
    blocked = done.user
    turn.say("user_blocked", name=blocked.name, phone=blocked.phone or blocked.address,
             cancelled=done.cancelled, passed_on=[o.order for o in done.passed_on],
             kept=done.kept)
    turn.replies.extend(tell)
    turn.move("command")


async def _add(turn: Turn, rest: str) -> None:
    """add vendor|retailer|operator <phone> <name> [limit <rupees>]"""
    match = re.match(r"^(vendor|retailer|operator)\s+(\S+)\s+(.+)$", rest, re.IGNORECASE)
    phone = numbers.phone(match.group(2)) if match else None
    if match is None or phone is None:
        turn.say("admin_usage", command="add")
        turn.move("command")
        return
    role = match.group(1).upper()
    name = match.group(3)
    limit_paisa = None
    limit = re.search(r"\s+limit\s+(\S+)$", name, re.IGNORECASE)
    if limit:
        limit_paisa = numbers.paisa(limit.group(1))
        name = name[: limit.start()]
    try:
        added = await users.add(turn.conn, turn.user, phone=phone, name=name, role=role,  # type: ignore[arg-type]
                                credit_limit_paisa=limit_paisa,
                                starter_limit_paisa=turn.policy.starter_limit_paisa)
    except LedgerError as error:
        turn.refuse(error, action=f"add {role.lower()}" if role == "OPERATOR" else "limit")
        turn.move("command")
        return
    turn.say("user_added", name=added.name, phone=phone, role=role)
    turn.move("command")


async def _role(turn: Turn, rest: str) -> None:
    """role <phone> retailer|vendor|operator|admin <reason>"""
    target, phone, more = await _named(turn, rest)
    words_ = more.split(maxsplit=1)
    role = words_[0].upper() if words_ else ""
    if target is None or role not in users.ROLES:
        turn.say("admin_usage", command="role")
        turn.move("command")
        return
    try:
        changed = await users.change_role(
            turn.conn, turn.user, target.id, role, words_[1] if len(words_) > 1 else "",
            starter_limit_paisa=turn.policy.starter_limit_paisa)
    except LedgerError as error:
        turn.refuse(error, action="role")
        turn.move("command")
        return
    turn.say("user_role_changed", name=changed.name, phone=phone, role=changed.role)
    limit = (await credit.position(turn.conn, changed.id)).limit_paisa if (
        changed.role == "RETAILER") else None
    turn.tell(changed.id, "role_changed", name=changed.name, role=changed.role,
              limit_paisa=limit)
    turn.move("command")


async def _limit(turn: Turn, rest: str) -> None:
    """limit <phone> <rupees> [reason]"""
    target, _, more = await _named(turn, rest)
    amount, reason = numbers.split_amount(more)  # "50000", "50,000", "Rs 50,000"
    if target is None or target.role != "RETAILER" or amount is None:
        turn.say("admin_usage", command="limit")
        turn.move("command")
        return
    if turn.user.role != "ADMIN":  # asked before a reason is asked for
        turn.say("not_allowed", action="limit")
        turn.move("command")
        return
    if not reason:
        turn.data.update(retailer_id=target.id, amount_paisa=amount)
        turn.say("admin_ask_reason", name=target.name, amount_paisa=amount)
        turn.move("ask_reason")
        return
    await _set_limit(turn, target.id, amount, reason)
    turn.move("command")


async def _set_limit(turn: Turn, retailer_id: int, amount_paisa: int, reason: str) -> None:
    target = await users.by_id(turn.conn, retailer_id)
    try:
        position, tell = await staff.set_limit(turn.conn, turn.user, retailer_id, amount_paisa,
                                               reason)
    except LedgerError as error:
        turn.refuse(error, action="limit")
        return
    turn.say("limit_set", name=target.name if target else "?", position=position, reason=reason)
    turn.replies.extend(tell)


async def _reason_given(turn: Turn) -> None:
    """The reason for the limit asked about: the limit is set."""
    reason = " ".join(turn.text.split())
    if not reason:
        turn.say("admin_ask_reason", name="", amount_paisa=turn.data.get("amount_paisa", 0))
        turn.move("unknown")
        return
    await _set_limit(turn, int(turn.data["retailer_id"]), int(turn.data["amount_paisa"]), reason)
    turn.data.clear()
    turn.move("reason_given")


async def _override(turn: Turn, rest: str) -> None:
    """override <KH-…> <reason>"""
    number = words.order_number(rest)
    reason = re.sub(r"^\S+\s*", "", rest)
    if number is None or not reason:
        turn.say("admin_usage", command="override")
        turn.move("command")
        return
    try:
        await credit.override_order(turn.conn, number, turn.user, reason)
    except LedgerError as error:
        turn.refuse(error, action="override")
        turn.move("command")
        return
    turn.say("override_set", number=number, reason=reason)
    order = await orders.get(turn.conn, number)
    # The retailer can confirm at once: the button confirms exactly the draft they were refused.
    confirm = (buttons.button("order", "confirm", f"{order.number}@{draft_revision(order)}",
                              "Confirm"),) if order.status == "DRAFT" else ()
    turn.tell(order.retailer_id, "override_granted", order=order, buttons=confirm)
    turn.move("command")


async def _report(turn: Turn, rest: str) -> None:
    """report: today's orders, value, outstanding, overdue, failed messages"""
    report = await reports.admin_report(turn.conn, turn.user, datetime.now(NEPAL_TIME).date())
    turn.say("report", report=report.daily, failed_count=report.failed_count,
             failed=[{"recipient": numbers.mask(f.recipient), "error": f.error}
                     for f in report.failed],
             pending=report.pending_registrations)
    turn.move("command")


async def _statement(turn: Turn, rest: str) -> None:
    """statement <phone> [days]"""
    target, phone, more = await _named(turn, rest)
    parts = more.split()
    if target is None or target.role != "RETAILER":
        if target is not None:
            turn.say("not_a_retailer", name=target.name, phone=phone, role=target.role)
        elif numbers.leading_phone(rest)[0] is not None:  # a phone, but nobody we know
            turn.say("user_unknown", phone=phone)
        else:
            turn.say("admin_usage", command="statement")
        turn.move("command")
        return
    days = int(parts[0]) if parts and parts[0].isdigit() else STATEMENT_DAYS
    days = max(1, min(days, 366))
    end = datetime.now(UTC)
    statement = await reports.statement(turn.conn, target.id, end - timedelta(days=days), end,
                                        actor=turn.user)
    balances = await reports.balances(turn.conn, target.id, actor=turn.user)
    turn.say("statement", name=target.name, days=days, statement=statement,
             lines=statement.lines[-MAX_STATEMENT_LINES:],
             skipped=max(0, len(statement.lines) - MAX_STATEMENT_LINES), balances=balances)
    turn.move("command")


async def _score(turn: Turn, rest: str) -> None:
    """score <phone>: a retailer's credit score and its factors"""
    await scores.of_retailer(turn, rest, usage="admin_usage", done="command")


async def _pending(turn: Turn, rest: str) -> None:
    """pending: registrations waiting for a decision"""
    turn.say("pending", requests=await registrations.pending(turn.conn, turn.user))
    turn.move("command")


async def _disputes(turn: Turn, rest: str) -> None:
    """disputes: what retailers and vendors do not agree on, oldest first"""
    found, count = await disputes.open_disputes(turn.conn, turn.user)
    turn.say("disputes", disputes=found, more=max(0, count - len(found)))
    turn.move("command")


_COMMANDS = {
    "approve": _approve, "unblock": _unblock, "block": _block, "add": _add, "role": _role,
    "limit": _limit,
    "override": _override, "report": _report, "statement": _statement, "pending": _pending,
    "score": _score,
    "disputes": _disputes, "dispute": _disputes,
    "suggestions": limits.listed, "suggestion": limits.listed, "sujhav": limits.listed,
    "सुझाव": limits.listed,
}


async def _help(turn: Turn) -> None:
    """The commands this role may use."""
    turn.say("help", role=turn.user.role, name=turn.user.name)
    turn.move("help")


async def _cancel(turn: Turn) -> None:
    """Drop the question asked (a limit's reason), if any."""
    if turn.state != "idle":
        turn.say("cancelled", what="question")
    else:
        turn.say("nothing_to_cancel")
    turn.data.clear()
    turn.move("cancel")


async def _unknown(turn: Turn) -> None:
    """Not a command: a hint at help."""
    turn.say("admin_unknown")
    turn.move("unknown")


DIALOG = Dialog(
    name="admin", table=TABLE,
    commands=(
        route("*", tapped("user", "approve", "block"), _tapped_decision),
        route("*", tapped("limit", "approve", "dismiss"), limits.tapped),
        route("*", typed(_COMMAND, "a command: approve, block, add, limit, …"), _command),
    ),
    routes=(
        route("*", said("greeting"), _help),
        route("reason", typed(re.compile(r"\S"), "any text"), _reason_given),
        route("*", ANYTHING, _unknown),
    ),
    help=_help, cancel=_cancel,
)
