"""Suggested credit limits in chat: the offer staff get (Approve / Dismiss), their tap, and the
list "suggestions" ("sujhav", "सुझाव"). The ledger decides who may and whether it still holds;
this turns its answers into messages."""

from __future__ import annotations

from typing import Any

from dialogs import buttons
from dialogs.turn import Turn
from ledger import limit_suggestions
from ledger.errors import AlreadyDone, LedgerError, LimitChangedSince, SuggestionNotFound
from ledger.limit_suggestions import Suggestion
from locales.replies import Button, Reply

OFFERS_LISTED = 3  # the list re-sends this many offers with their buttons


def card(s: Suggestion) -> dict[str, Any]:
    """What the suggestion templates show."""
    return {
        "id": s.id, "shop_name": s.shop_name, "name": s.name, "phone": s.phone,
        "current_paisa": s.current_limit_paisa, "suggested_paisa": s.suggested_limit_paisa,
        "increase": s.increase, "score": s.score, "band": s.band,
        "monthly_paisa": s.monthly_purchases_paisa, "why": s.why,
        "overdue_paisa": int(s.details.get("overdue_paisa", 0)),
        "exposure_paisa": int(s.details.get("exposure_paisa", 0)),
        "multiplier_percent": int(s.details.get("multiplier_percent", 0)),
    }


def choices(s: Suggestion) -> tuple[Button, ...]:
    return (buttons.button("limit", "approve", str(s.id), "Approve"),
            buttons.button("limit", "dismiss", str(s.id), "Dismiss"))


def offer(s: Suggestion, to_user_id: int) -> Reply:
    """A suggestion offered to one operator or admin, in their language, with the buttons."""
    return Reply("limit_suggestion", {"s": card(s)}, to_user_id=to_user_id, buttons=choices(s))


async def tapped(turn: Turn) -> None:
    """Approve or Dismiss tapped under a suggested limit: decided once, if it still holds."""
    tap = turn.tap
    assert tap is not None
    if not tap.ref.isdigit():
        turn.say("stale_button")
        turn.move("command")
        return
    suggestion_id = int(tap.ref)
    try:
        if tap.action == "approve":
            done = await limit_suggestions.approve(turn.conn, suggestion_id, turn.user)
            turn.say("limit_decided", outcome="approved", s=card(done.suggestion),
                     position=done.position)
            turn.tell(done.suggestion.retailer_id, "limit_changed", position=done.position)
        else:
            dismissed = await limit_suggestions.dismiss(turn.conn, suggestion_id, turn.user)
            turn.say("limit_decided", outcome="dismissed", s=card(dismissed))
    except LimitChangedSince as error:
        turn.say("limit_decided", outcome="stale", s=card(
            await limit_suggestions.get(turn.conn, suggestion_id)), now_paisa=error.params[
                "now_paisa"])
    except AlreadyDone:
        found = await limit_suggestions.get(turn.conn, suggestion_id)
        turn.say("limit_decided", outcome="already", s=card(found), status=found.status)
    except SuggestionNotFound:
        turn.say("stale_button")
    except LedgerError as error:
        turn.refuse(error, action="limit")
    turn.move("command")


async def listed(turn: Turn, rest: str) -> None:
    """suggestions: suggested limits waiting for a decision, the oldest with their buttons"""
    try:
        waiting, count = await limit_suggestions.pending(turn.conn, turn.user)
    except LedgerError as error:
        turn.refuse(error, action="limit")
        turn.move("command")
        return
    turn.say("limit_suggestions", suggestions=[card(s) for s in waiting],
             more=max(0, count - len(waiting)))
    for s in waiting[:OFFERS_LISTED]:
        turn.say("limit_suggestion", s=card(s), buttons=choices(s))
    turn.move("command")
