"""Credit scores in chat: a retailer's own ("score", "mero score") and, for a vendor serving them
or staff, a retailer's by phone ("score 9820000001"). The ledger decides who may see whom."""

from __future__ import annotations

import re
from typing import Any

from dialogs.turn import Turn
from ledger import scores, users
from ledger.errors import LedgerError
from ledger.score import Score
from locales import numbers

# "score", "mero score", "my score", "credit score", "मेरो स्कोर": the whole message.
OWN = re.compile(r"^\s*(?:(?:mero|my|मेरो)\s+)?(?:credit\s+|क्रेडिट\s+)?(?:score|skor|स्कोर)"
                 r"\s*[?!.।]*\s*$", re.IGNORECASE)
TOP_FACTORS = 3


def card(score: Score) -> dict[str, Any]:
    """What the score template shows: the score, its band, the factors that count most and what
    would raise it, each in both languages (the template picks its own)."""
    meaning = score.meaning
    return {
        "score": score.score, "band": score.band,
        "meaning": meaning[0] if meaning else "", "meaning_ne": meaning[1] if meaning else "",
        "reason": score.reason or "", "reason_ne": score.reason_ne or "",
        "factors": [{"points": f.points, "en": f.en, "ne": f.ne} for f in score.top(TOP_FACTORS)],
        "improvements": [{"en": i.en, "ne": i.ne} for i in score.improvements],
    }


async def own(turn: Turn) -> None:
    """A retailer's own score, band, top factors and what would raise it."""
    found = await scores.for_retailer(turn.conn, turn.user, turn.user.id)
    turn.say("score", own=True, name=turn.user.name, card=card(found))
    turn.move("query")


async def of_retailer(turn: Turn, rest: str, *, usage: str, done: str) -> None:
    """"score 9820000001" from a vendor or staff: that retailer's score, if they may see it;
    `usage` is the template that shows how to write it, `done` the trigger to move by."""
    phone, _ = numbers.leading_phone(rest)
    target = await users.by_phone(turn.conn, phone) if phone else None
    if target is None or target.role != "RETAILER":
        if target is not None:
            turn.say("not_a_retailer", name=target.name, phone=phone, role=target.role,
                     about="score")
        elif phone is not None:
            turn.say("user_unknown", phone=phone)
        else:
            turn.say(usage, command="score")
        turn.move(done)
        return
    try:
        found = await scores.for_retailer(turn.conn, turn.user, target.id)
    except LedgerError as error:
        turn.refuse(error)
        turn.move(done)
        return
    shop = await users.shop(turn.conn, target.id)
    turn.say("score", own=False, name=shop.shop_name if shop else target.name, card=card(found))
    turn.move(done)
