"""Statements by chat: a retailer's "statement" (with one vendor: the one named, the only one,
or a list to choose from) and a vendor's "statement 98XXXXXXXX" (a retailer they serve). Each
gets a short summary, then the whole statement as a PDF document in their language. The
ledger checks who may read what (`ledger.statements`); this only reads the command."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from dialogs import buttons
from dialogs.turn import Turn
from ledger import statements, users
from ledger.errors import LedgerError
from ledger.statements import Party
from locales import numbers
from locales.formats import NEPAL_TIME
from locales.replies import Attachment

# "statement", "statement Bheri", "statement 30", "विवरण भेरी"; a vendor adds the phone.
COMMAND = re.compile(r"^\s*(?:statement|stmt|bibaran|biwaran|विवरण)(?=\s|$)\s*(.*)$",
                     re.IGNORECASE | re.DOTALL)
DEFAULT_DAYS = 90
MAX_DAYS = 366
MAX_ROWS = 10  # WhatsApp lists hold ten rows


def _days(words: list[str]) -> tuple[int, list[str]]:
    """A trailing number of days ("statement Bheri 30"), bounded; the words before it."""
    if words and numbers.ascii_digits(words[-1]).isdigit():
        days = int(numbers.ascii_digits(words[-1]))
        return max(1, min(days, MAX_DAYS)), words[:-1]
    return DEFAULT_DAYS, words


def _named(vendors: list[Party], words: list[str]) -> list[Party]:
    """The vendors whose shop name has every word asked for in it ("bheri" → Bheri Traders)."""
    wanted = [w.casefold() for w in words]
    return [v for v in vendors if all(w in v.name.casefold() for w in wanted)]


async def for_retailer(turn: Turn) -> None:
    """"statement [vendor] [days]": the one vendor meant, or a list of theirs to choose from."""
    match = COMMAND.match(turn.text)
    assert match is not None
    days, words = _days(match.group(1).split())
    vendors = await statements.vendors_of(turn.conn, turn.user, turn.user.id)
    chosen = _named(vendors, words) if words else vendors
    if not vendors:
        turn.say("statement_none")
    elif len(chosen) == 1:
        await send(turn, retailer_id=turn.user.id, vendor_id=chosen[0].user_id, days=days)
    else:
        # Each row names the vendor and the days asked for: statement:vendor:+977…@30.
        turn.say("statement_which", asked=" ".join(words) if words else "",
                 rows=[buttons.row("statement", "vendor", f"{v.phone or v.user_id}@{days}",
                                   v.name, numbers.mask(v.phone or ""))
                       for v in vendors[:MAX_ROWS]])
    turn.move("query")


async def tapped_vendor(turn: Turn) -> None:
    """A vendor tapped in the list: their statement (only one of the retailer's own)."""
    assert turn.tap is not None
    ref, _, asked = turn.tap.ref.rpartition("@")
    vendor = await users.by_public_id(turn.conn, ref) if ref else None
    mine = {v.user_id for v in await statements.vendors_of(turn.conn, turn.user, turn.user.id)}
    days = max(1, min(int(asked), MAX_DAYS)) if asked.isdigit() else DEFAULT_DAYS
    if vendor is None or vendor.id not in mine:
        turn.say("stale_button")
    else:
        await send(turn, retailer_id=turn.user.id, vendor_id=vendor.id, days=days)
    turn.move("query")


async def for_vendor(turn: Turn, rest: str) -> None:
    """"statement 98XXXXXXXX [days]": a retailer this vendor serves."""
    phone, more = numbers.leading_phone(rest)
    days, extra = _days(more.split())
    retailer = await users.by_phone(turn.conn, phone) if phone else None
    if phone is None or extra:
        turn.say("vendor_usage", command="statement")
    elif retailer is None or retailer.role != "RETAILER":
        turn.say("user_unknown", phone=phone)
    else:
        await send(turn, retailer_id=retailer.id, vendor_id=turn.user.id, days=days)
    turn.move("query")


async def send(turn: Turn, *, retailer_id: int, vendor_id: int, days: int) -> None:
    """The summary, then the PDF, to whoever asked (the ledger checks they may read it)."""
    today = datetime.now(NEPAL_TIME).date()
    start = today - timedelta(days=days - 1)
    try:
        found = await statements.statement(turn.conn, turn.user, retailer_id=retailer_id,
                                           vendor_id=vendor_id, start=start, end=today)
    except LedgerError as error:
        turn.refuse(error, action="statement")
        return
    turn.say("statement_summary", statement=found, start=start,
             unacknowledged=sum(not line.acknowledged for line in found.lines))
    turn.say("statement_caption", statement=found, attachment=Attachment("statement", found))
