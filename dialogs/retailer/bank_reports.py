"""A retailer shares a bank report: "report" (or "bank report", "riport", "रिपोर्ट", "report for
NIC Asia Bank") → who it is for → a consent message that says what will be shared, with whom, for
how long and how to take it back, with Agree / Cancel → on Agree only, a link valid for
`Policy.bank_report_days`. "reports" lists the live ones with their views and a Revoke row each.

What is being asked lives in the conversation's data (`bank_report`), beside the draft, so an
open draft is kept while a report is asked for; nothing reaches the ledger before Agree. A
consent waits CONSENT_MINUTES for its tap; a tap of an older consent message issues nothing.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from dialogs import buttons
from dialogs.turn import Turn
from ledger import bank_reports, scores
from ledger.bank_reports import Report
from ledger.errors import (
    AlreadyDone,
    BankReportNotFound,
    InvalidInstitution,
    NotPermitted,
    TooManyBankReports,
)
from locales.replies import Reply

KEY = "bank_report"
CONSENT_MINUTES = 30
_REPORT = r"(?:riport|ripot|repot|report|रिपोर्ट|रिपोट)"
_BANK = r"(?:(?:bank|baink|बैंक|बैङ्क)\s+)?"
_MY = r"(?:(?:mero|my|मेरो)\s+)?"
_END = r"\s*[?!.।]*\s*$"
# "report", "bank report", "mero report", "report for NIC Asia Bank", "bank report: Sanima",
# "रिपोर्ट", "बैंक रिपोर्ट", "NIC Asia ko lagi report", "एनआईसी एसियाको लागि रिपोर्ट".
ASK = re.compile(
    rf"^\s*{_MY}{_BANK}{_REPORT}(?:(?:\s*[:\-–]\s*|\s+(?:for|to|ko\s+lagi|lai|को\s+लागि|लागि)\s+"
    rf"|\s+)(?P<after>.*?))?{_END}"
    rf"|^\s*(?P<before>\S.*?)\s*(?:ko\s+lagi|lai|को\s+लागि|को\s+लागी|लागि|लाई)\s+{_BANK}{_REPORT}"
    rf"(?:\s+(?:pathau|pathaunu|chahiyo|deu|dinus|पठाउनुहोस्|चाहियो|दिनुहोस्))?{_END}",
    re.IGNORECASE)
# "reports", "my reports", "mero report haru", "रिपोर्टहरू".
LIST = re.compile(
    rf"^\s*{_MY}{_BANK}(?:riports|reports|report\s*haru|रिपोर्टहरू|रिपोर्टहरु|रिपोर्ट\s*हरू)"
    rf"{_END}", re.IGNORECASE)
# "revoke BR-000012": the same as tapping its Revoke row.
REVOKE = re.compile(r"^\s*(?:revoke|withdraw|फिर्ता)\s+(BR-[0-9A-Z]{4,20})\s*$", re.IGNORECASE)
# Words after "report" that are not an institution ("report problem KH-…" is about an order).
_NOT_A_NAME = re.compile(r"^(?:problem|KH-?\d|D-?\d)", re.IGNORECASE)


def asks(turn: Turn) -> bool:
    """Typed "report …" that asks for a bank report (not "report problem …")."""
    if turn.choice:
        return False
    match = ASK.match(turn.text)
    return match is not None and not _NOT_A_NAME.match(match.group("after") or "")


def lists(turn: Turn) -> bool:
    return not turn.choice and bool(LIST.match(turn.text))


def _pending(turn: Turn) -> dict[str, Any] | None:
    value = turn.data.get(KEY)
    return value if isinstance(value, dict) else None


def waiting_for_name(turn: Turn) -> bool:
    """The retailer was asked who the report is for, and this is typed text."""
    pending = _pending(turn)
    return (pending is not None and pending.get("step") == "who" and not turn.choice
            and turn.intent() not in ("confirm", "greeting"))


def waiting_for_consent(turn: Turn) -> bool:
    pending = _pending(turn)
    return pending is not None and pending.get("step") == "consent" and not turn.choice


def in_flow(turn: Turn) -> bool:
    return _pending(turn) is not None


def _ref(turn: Turn) -> str:
    """The id a consent's buttons carry: the inbound message that asked, so each ask is new."""
    return f"R{turn.event.inbound_id}"


async def ask(turn: Turn) -> None:
    """"report" (or "bank report for NIC Asia"): who it is for, or straight to consent."""
    match = ASK.match(turn.text)
    named = ((match.group("after") or match.group("before") or "") if match else "").strip()
    if named.casefold() in ("for", "to", "ko lagi", "lai"):
        named = ""
    turn.data[KEY] = {"step": "who", "ref": _ref(turn)}
    if named:
        await _named(turn, named)
    else:
        turn.say("bank_report_ask", days=turn.policy.bank_report_days)
    turn.move("report")


async def institution(turn: Turn) -> None:
    """The name of the bank or institution, typed after "who is it for?": consent is asked."""
    await _named(turn, turn.text)
    turn.move("report")


async def _named(turn: Turn, text: str) -> None:
    try:
        name = bank_reports.clean_institution(text)
    except InvalidInstitution as error:
        turn.say("bank_report_bad_name", reason=error.params["reason"], max=error.params["max"])
        return
    pending = {"step": "consent", "ref": _ref(turn), "institution": name,
               "asked_at": turn.event.received_at.isoformat()}
    turn.data[KEY] = pending
    score = await scores.for_retailer(turn.conn, turn.user, turn.user.id)
    turn.say("bank_report_consent", institution=name, days=turn.policy.bank_report_days,
             score=score.score, reason=score.reason or "", reason_ne=score.reason_ne or "",
             buttons=(buttons.button("report", "consent", pending["ref"], "Agree"),
                      buttons.button("report", "cancel", pending["ref"], "Cancel")))


async def tap_agree(turn: Turn) -> None:
    """"ho" / "yes" while consent is asked: consent is a tap on Agree, so say so again."""
    pending = _pending(turn)
    assert pending is not None
    turn.say("bank_report_tap_agree", institution=pending.get("institution", ""),
             buttons=(buttons.button("report", "consent", str(pending.get("ref")), "Agree"),
                      buttons.button("report", "cancel", str(pending.get("ref")), "Cancel")))
    turn.move("report")


def _fresh(turn: Turn, pending: dict[str, Any]) -> bool:
    try:
        asked = datetime.fromisoformat(str(pending.get("asked_at")))
    except ValueError:
        return False
    return turn.event.received_at - asked <= timedelta(minutes=CONSENT_MINUTES)


async def tapped(turn: Turn) -> None:
    """Agree or Cancel under a consent message: on Agree (this very consent, recent) the report
    is issued and its link sent; Cancel shares nothing."""
    assert turn.tap is not None
    pending = _pending(turn)
    current = pending is not None and pending.get("step") == "consent" \
        and pending.get("ref") == turn.tap.ref
    if turn.tap.action == "cancel":
        if current:
            turn.data.pop(KEY, None)
        turn.say("bank_report_cancelled")
        turn.move("report")
        return
    if not current or pending is None or not _fresh(turn, pending):
        if current:
            turn.data.pop(KEY, None)
        turn.say("bank_report_stale")
        turn.move("report")
        return
    turn.data.pop(KEY, None)
    try:
        issued = await bank_reports.issue(
            turn.conn, turn.user, institution=str(pending["institution"]),
            language=turn.user.language, days=turn.policy.bank_report_days)
    except TooManyBankReports as error:
        turn.say("bank_report_too_many", limit=error.params["limit"])
        turn.move("report")
        return
    turn.say("bank_report_issued", institution=issued.report.institution,
             link=link(turn, issued.token), expires_at=issued.report.expires_at,
             public_id=issued.report.public_id)
    turn.move("report")


def link(turn: Turn, token: str) -> str:
    return f"{turn.policy.public_base_url.rstrip('/')}/r/{token}"


async def cancel(turn: Turn) -> None:
    """"cancel" while a report is asked for: nothing is shared, an open draft stays."""
    turn.data.pop(KEY, None)
    turn.say("bank_report_cancelled")
    turn.move("report")


MAX_LISTED = 10  # WhatsApp lists hold ten rows


async def listing(turn: Turn) -> None:
    """"reports": each live report, who it is for, until when, how often it was opened and
    when last, with a Revoke row each."""
    found = await bank_reports.listed(turn.conn, turn.user, turn.user.id, limit=MAX_LISTED)
    rows = [buttons.row("report", "revoke", r.public_id, r.institution[:24],
                        f"{r.public_id} · {r.expires_at.date().isoformat()}")
            for r in found]
    turn.say("bank_report_list", reports=[_shown(r) for r in found], rows=rows,
             list_button="Revoke")
    turn.move("report")


def _shown(report: Report) -> dict[str, Any]:
    return {"public_id": report.public_id, "institution": report.institution,
            "expires_at": report.expires_at, "views": report.views,
            "last_viewed_at": report.last_viewed_at}


async def revoke_tapped(turn: Turn) -> None:
    """Revoke tapped (or "revoke BR-000012"): the link stops working; a second time says it was
    already revoked."""
    if turn.tap is not None:
        ref = turn.tap.ref
    else:
        match = REVOKE.match(turn.text)
        assert match is not None
        ref = match.group(1).upper()
    try:
        report = await bank_reports.revoke(turn.conn, turn.user, ref)
    except AlreadyDone as error:
        turn.say("bank_report_revoked", already=True, institution=error.params["name"])
    except (BankReportNotFound, NotPermitted):
        turn.say("bank_report_not_found", report=ref[:20])
    else:
        turn.say("bank_report_revoked", already=False, institution=report.institution)
    turn.move("report")


def opened(report: Report, at: datetime) -> Reply:
    """The retailer's one notice that a report they shared was opened (the page sends it with
    the view, in the same transaction)."""
    return Reply("bank_report_opened", {"institution": report.institution, "at": at,
                                        "expires_at": report.expires_at},
                 to_user_id=report.retailer_id)
