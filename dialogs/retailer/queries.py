"""A retailer's questions: where their orders are, what they owe, what they bought, and
cancelling a placed order before a vendor accepts it. None of these touches the draft."""

from __future__ import annotations

import re

from dialogs import steps, words
from dialogs.retailer import ordering
from dialogs.turn import Turn
from ledger import credit, orders, reports
from ledger.errors import LedgerError

OPEN_ORDERS_SHOWN = 10
HISTORY_SHOWN = 5


async def status(turn: Turn) -> None:
    """Where their open orders are, and the draft they have open, if any."""
    found = await reports.open_orders(turn.conn, actor=turn.user, retailer_id=turn.user.id)
    draft = await ordering.current_draft(turn, ordering.asking(turn))
    turn.say("status", orders=found[:OPEN_ORDERS_SHOWN],
             more=max(0, len(found) - OPEN_ORDERS_SHOWN), draft=draft)
    turn.move("query")


async def dues(turn: Turn) -> None:
    """What they owe each vendor, what is overdue, and their credit left."""
    balances = await reports.balances(turn.conn, turn.user.id, actor=turn.user)
    position = await credit.position(turn.conn, turn.user.id)
    turn.say("dues", balances=balances, position=position)
    turn.move("query")


_ALL = re.compile(r"\b(all|sabai|sab|sabbai)\b|सबै", re.IGNORECASE)


async def history(turn: Turn) -> None:
    """Their last placed orders ("history all": dropped drafts too)."""
    every = bool(_ALL.search(turn.text))
    turn.say("history", orders=await reports.history(turn.conn, turn.user.id, actor=turn.user,
                                                     limit=HISTORY_SHOWN, with_drafts=every))
    turn.move("query")


async def answer(turn: Turn) -> None:
    """Status, dues or history, as asked."""
    await {"status": status, "dues": dues, "history": history}[turn.intent()](turn)


async def cancel_order(turn: Turn) -> None:
    """"cancel KH-000123": a placed order, before a vendor accepted it; the vendor is told."""
    number = words.order_number(turn.text)
    assert number is not None
    before = None
    try:
        before = await orders.visible(turn.conn, number, turn.user)
        done = await steps.cancel(turn.conn, turn.user, number)
    except LedgerError as error:
        # Too late to cancel here (a vendor took it): who to talk to is the next step.
        ask = before.vendor_name if before is not None and before.vendor_name else None
        turn.refuse(error, order=number, **({"ask": ask} if ask else {}))
        turn.move("query")
        return
    turn.say("order_cancelled", order=done.order)
    turn.replies.extend(done.others)
    turn.move("query")
