"""Admins and operators run Khaacho by command: approve or block people, add vendors and
retailers, set credit limits (with a reason), override a limit for one order, today's report,
a retailer's statement. Operators may do all but the money decisions, which are the admin's."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.phone import mask
from dialogs import language, registration, words
from dialogs.machine import Table
from dialogs.turn import Turn
from ledger import credit, reports, users
from ledger.errors import LedgerError
from ledger.users import User
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

ADMIN_ONLY = frozenset({"limit", "override"})
STATEMENT_DAYS = 30
MAX_STATEMENT_LINES = 15

_COMMAND = re.compile(r"^\s*(approve|unblock|block|add|limit|override|report|statement|pending)\b"
                      r"\s*(.*)$", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class _Who:
    user: User | None
    phone: str | None


async def handle(turn: Turn) -> None:
    if turn.choice.startswith("reg:"):
        await _decide(turn)
        return
    match = _COMMAND.match(turn.text)
    if match is None:
        if await language.handle(turn):
            return
        if turn.wants_help() or turn.intent() == "greeting":  # "namaste" is greeted back
            turn.say("help", role=turn.user.role, name=turn.user.name)
            turn.move("help")
            return
        if turn.wants_cancel():
            turn.say("cancelled" if turn.state != "idle" else "nothing_to_cancel")
            turn.move("cancel")
            return
        if turn.state == "reason":
            await _reason_given(turn)
            return
        turn.say("admin_unknown")
        turn.move("unknown")
        return
    command, rest = match.group(1).lower(), " ".join(match.group(2).split())
    if command in ADMIN_ONLY and turn.user.role != "ADMIN":
        turn.say("not_allowed", action=command)
        turn.move("command")
        return
    await _COMMANDS[command](turn, rest)


async def _decide(turn: Turn) -> None:
    """A tapped Approve / Block under a registration request."""
    parts = turn.choice.split(":")
    if len(parts) != 3 or not parts[2].isdigit() or parts[1] not in ("approve", "block"):
        turn.say("admin_unknown")
        turn.move("unknown")
        return
    target = await users.by_id(turn.conn, int(parts[2]))
    if target is None:
        turn.say("user_unknown", phone=parts[2])
        turn.move("command")
        return
    await (_approve_user(turn, target, "RETAILER") if parts[1] == "approve"
           else _block_user(turn, target, ""))


async def _who(turn: Turn, text: str) -> tuple[_Who, str]:
    """The person a command names by phone (however spaced), and the rest of the command."""
    phone, rest = words.leading_phone(text)
    if phone is None:
        return _Who(None, None), rest
    return _Who(await users.by_phone(turn.conn, phone), phone), rest


async def _approve(turn: Turn, rest: str) -> None:
    """approve <phone> [vendor|retailer]"""
    who, more = await _who(turn, rest)
    if who.user is None:
        turn.say("user_unknown", phone=rest or "?")
        turn.move("command")
        return
    role = "VENDOR" if more.lower().split()[:1] == ["vendor"] else (
        who.user.role if who.user.role != "RETAILER" and who.user.active else "RETAILER")
    await _approve_user(turn, who.user, role)


async def _approve_user(turn: Turn, target: User, role: str) -> None:
    if target.role in ("ADMIN", "OPERATOR") and turn.user.role != "ADMIN":
        turn.say("not_allowed", action="approve")
        turn.move("command")
        return
    approved = await registration.approve(turn.conn, target.id, turn.user, role)  # type: ignore[arg-type]
    assert approved is not None
    limit_paisa = None
    if approved.role == "RETAILER":
        limit_paisa = (await credit.position(turn.conn, approved.id)).limit_paisa
    turn.say("user_approved", name=approved.name, phone=approved.phone or approved.address,
             role=approved.role, limit_paisa=limit_paisa)
    turn.tell(approved.id, "reg_approved", name=approved.name, role=approved.role)
    turn.move("command")


async def _block(turn: Turn, rest: str) -> None:
    """block <phone> [reason]"""
    who, reason = await _who(turn, rest)
    if who.user is None:
        turn.say("user_unknown", phone=rest or "?")
        turn.move("command")
        return
    await _block_user(turn, who.user, reason)


async def _block_user(turn: Turn, target: User, reason: str) -> None:
    if target.id == turn.user.id or (target.role in ("ADMIN", "OPERATOR")
                                     and turn.user.role != "ADMIN"):
        turn.say("not_allowed", action="block")
        turn.move("command")
        return
    blocked = await registration.block(turn.conn, target.id, turn.user, reason)
    assert blocked is not None
    turn.say("user_blocked", name=blocked.name, phone=blocked.phone or blocked.address)
    turn.move("command")


async def _add(turn: Turn, rest: str) -> None:
    """add vendor|retailer <phone> <name> [limit <rupees>]"""
    match = re.match(r"^(vendor|retailer|operator)\s+(\S+)\s+(.+)$", rest, re.IGNORECASE)
    phone = words.phone(match.group(2)) if match else None
    if match is None or phone is None:
        turn.say("admin_usage", command="add")
        turn.move("command")
        return
    role = match.group(1).upper()
    if role == "OPERATOR" and turn.user.role != "ADMIN":
        turn.say("not_allowed", action="add operator")
        turn.move("command")
        return
    name = match.group(3)[:120]
    limit_paisa = None
    limit = re.search(r"\s+limit\s+(\S+)$", name, re.IGNORECASE)
    if limit:
        limit_paisa = words.paisa(limit.group(1))
        name = name[: limit.start()]
    existing = await users.by_phone(turn.conn, phone)
    added = await users.upsert(
        turn.conn, phone=phone, name=name, role=role,  # type: ignore[arg-type]
        language=existing.language if existing else "ne", shop_name=name,
        credit_limit_paisa=limit_paisa if turn.user.role == "ADMIN" else None,
    )
    await turn.conn.execute(
        """INSERT INTO registrations (user_id, name, shop_name, status, decided_by, decided_at)
           VALUES ($1, $2, $2, 'APPROVED', $3, now())
           ON CONFLICT (user_id) DO UPDATE SET status = 'APPROVED',
               decided_by = EXCLUDED.decided_by, decided_at = now()""",
        added.id, name, turn.user.id)
    await turn.conn.execute(
        "INSERT INTO audit_log (actor_id, action, subject, reason) VALUES ($1, $2, $3, $4)",
        turn.user.id, "user.add", f"user:{added.id}", role)
    turn.say("user_added", name=added.name, phone=phone, role=role)
    turn.move("command")


async def _limit(turn: Turn, rest: str) -> None:
    """limit <phone> <rupees> [reason]"""
    who, more = await _who(turn, rest)
    amount, reason = words.split_amount(more)  # "50000", "50,000", "Rs 50,000"
    if who.user is None or who.user.role != "RETAILER" or amount is None:
        turn.say("admin_usage", command="limit")
        turn.move("command")
        return
    if not reason:
        turn.data.update(pending="limit", retailer_id=who.user.id, amount_paisa=amount)
        turn.say("admin_ask_reason", name=who.user.name, amount_paisa=amount)
        turn.move("ask_reason")
        return
    await _set_limit(turn, who.user.id, amount, reason)
    turn.move("command")


async def _set_limit(turn: Turn, retailer_id: int, amount_paisa: int, reason: str) -> None:
    target = await users.by_id(turn.conn, retailer_id)
    try:
        position = await credit.set_limit(turn.conn, retailer_id, amount_paisa, turn.user, reason)
    except LedgerError as error:
        turn.say("error", key=error.key, params=error.params)
        return
    turn.say("limit_set", name=target.name if target else "?", position=position, reason=reason)
    if target is not None:
        turn.tell(target.id, "limit_changed", position=position)


async def _reason_given(turn: Turn) -> None:
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
        turn.say("error", key=error.key, params=error.params)
    else:
        turn.say("override_set", number=number, reason=reason)
    turn.move("command")


async def _report(turn: Turn, rest: str) -> None:
    """report: today's orders, value, outstanding, overdue, failed messages"""
    today = datetime.now(NEPAL_TIME).date()
    report = await reports.daily_report(turn.conn, today)
    start = datetime.combine(today, datetime.min.time(), NEPAL_TIME).astimezone(UTC)
    failed = await turn.conn.fetch(
        """SELECT recipient, last_error FROM outbox WHERE status = 'failed' AND created_at >= $1
           ORDER BY id DESC LIMIT 5""", start)
    failed_count = await turn.conn.fetchval(
        "SELECT count(*) FROM outbox WHERE status = 'failed' AND created_at >= $1", start)
    pending = await turn.conn.fetchval(
        "SELECT count(*) FROM registrations WHERE status = 'PENDING'")
    turn.say("report", report=report, failed_count=failed_count,
             failed=[{"recipient": mask(r["recipient"]),
                      "error": (r["last_error"] or "")[:60]} for r in failed],
             pending=pending)
    turn.move("command")


async def _statement(turn: Turn, rest: str) -> None:
    """statement <phone> [days]"""
    who, more = await _who(turn, rest)
    parts = more.split()
    if who.user is None or who.user.role != "RETAILER":
        turn.say("admin_usage", command="statement")
        turn.move("command")
        return
    days = int(parts[0]) if parts and parts[0].isdigit() else STATEMENT_DAYS
    days = max(1, min(days, 366))
    end = datetime.now(UTC)
    statement = await reports.statement(turn.conn, who.user.id, end - timedelta(days=days), end)
    balances = await reports.balances(turn.conn, who.user.id)
    turn.say("statement", name=who.user.name, days=days, statement=statement,
             lines=statement.lines[-MAX_STATEMENT_LINES:],
             skipped=max(0, len(statement.lines) - MAX_STATEMENT_LINES), balances=balances)
    turn.move("command")


async def _pending(turn: Turn, rest: str) -> None:
    """pending: registrations waiting for a decision"""
    rows = await turn.conn.fetch(
        """SELECT r.name, r.shop_name, r.area, u.phone, u.wa_user_id FROM registrations r
           JOIN users u ON u.id = r.user_id WHERE r.status = 'PENDING'
           ORDER BY r.created_at LIMIT 10""")
    turn.say("pending", requests=[dict(r) for r in rows])
    turn.move("command")


_COMMANDS = {
    "approve": _approve, "unblock": _approve, "block": _block, "add": _add, "limit": _limit,
    "override": _override, "report": _report, "statement": _statement, "pending": _pending,
}
