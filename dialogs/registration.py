"""Numbers nobody added yet: a short registration (name, shop, area) that waits for an operator.

The first message creates an inactive user row (`ledger.registrations.first_contact`), so the
person's language and conversation live where everyone else's do; nothing can be ordered until
an operator approves them.
"""

from __future__ import annotations

import re

from dialogs import buttons, language
from dialogs.machine import Table
from dialogs.routing import ANYTHING, Dialog, route, when
from dialogs.turn import Turn
from ledger import registrations, users

TABLE = Table(
    "registration",
    states=["start", "name", "shop", "area", "waiting", "blocked"],
    initial="start",
    doc="A number nobody added writes in: name, shop and area, then an operator decides.",
    transitions=[
        {"trigger": "greet", "source": "start", "dest": "name",
         "doc": "welcome, offer the language, ask the name"},
        {"trigger": "named", "source": "name", "dest": "shop"},
        {"trigger": "shop_given", "source": "shop", "dest": "area"},
        {"trigger": "area_given", "source": "area", "dest": "waiting",
         "doc": "operators get the request with Approve / Block"},
        {"trigger": "again", "source": ["name", "shop", "area", "waiting", "blocked"],
         "dest": None, "doc": "invalid answer, or still waiting: say so again"},
        {"trigger": "blocked", "source": "*", "dest": "blocked",
         "doc": "an operator blocked the number"},
        {"trigger": "unblocked", "source": "blocked", "dest": "start",
         "doc": "an operator lifted the block: the next message starts afresh"},
        {"trigger": "help", "source": "*", "dest": None},
        {"trigger": "cancel", "source": ["name", "shop", "area", "waiting"], "dest": "start",
         "doc": "withdraw: start again with the next message"},
        {"trigger": "cancel", "source": ["start", "blocked"], "dest": None},
    ],
)

MAX_FIELD = users.MAX_NAME
_LETTER = re.compile(r"[^\W\d_]")
_FIELD = {"name": "name", "shop": "shop", "area": "area"}
_PROMPT = {"name": "reg_ask_name", "shop": "reg_ask_shop", "area": "reg_ask_area",
           "waiting": "reg_waiting"}


def read_answer(text: str) -> str | None:
    """A name, shop or area as typed: some letters, at most 120 characters."""
    clean = " ".join(text.split())
    if not clean or len(clean) > MAX_FIELD or not _LETTER.search(clean):
        return None
    return clean


async def _look_up(turn: Turn) -> None:
    turn.facts["registration"] = status = await registrations.status(turn.conn, turn.user.id)
    if turn.state == "blocked" and status != "BLOCKED":
        turn.move("unblocked")


async def _blocked(turn: Turn) -> None:
    """Blocked by an operator: told politely, nothing else happens."""
    turn.move("help" if turn.state == "blocked" and turn.wants_help()
              else "again" if turn.state == "blocked" else "blocked")
    turn.say("reg_blocked")


async def _help(turn: Turn) -> None:
    """What registering means, then the question they are on again."""
    turn.say("help", role="STRANGER", name=registrations.display_name(turn.user.name))
    turn.move("help")
    await _ask_again(turn)


async def _cancel(turn: Turn) -> None:
    """Withdraw the registration; the next message starts again."""
    if turn.state in ("name", "shop", "area", "waiting"):
        await registrations.withdraw(turn.conn, turn.user.id)
    turn.move("cancel")
    turn.say("reg_cancelled")


async def _ask_again(turn: Turn) -> None:
    """Repeat the question the person is on."""
    prompt = _PROMPT.get(turn.state)
    if prompt == "reg_ask_shop":
        turn.say(prompt, name="")
    elif prompt:
        turn.say(prompt)


async def _greet(turn: Turn) -> None:
    """Welcome, offer the language, ask the name."""
    turn.conversation.language_asked = True
    turn.say("welcome", buttons=language.BUTTONS)
    turn.move("greet")


async def _waiting(turn: Turn) -> None:
    """Still waiting for an operator: say so."""
    turn.say("reg_waiting")
    turn.move("again")


async def _answered(turn: Turn) -> None:
    """An answer to the question asked: kept, and the next question (or the request to staff)."""
    state = turn.state
    answer = read_answer(turn.text)
    if answer is None:
        turn.say("reg_invalid", field=state)
        turn.move("again")
        return
    await registrations.answer(turn.conn, turn.user.id, _FIELD[state], answer)  # type: ignore[arg-type]
    if state == "name":
        turn.say("reg_ask_shop", name=answer)
        turn.move("named")
    elif state == "shop":
        turn.say("reg_ask_area")
        turn.move("shop_given")
    else:
        request = await registrations.submit(turn.conn, turn.user.id)
        turn.say("reg_pending")
        turn.move("area_given")
        ref = turn.user.public_id
        for staff_id in await users.staff_ids(turn.conn):
            turn.tell(staff_id, "reg_request", name=request.name, shop=request.shop_name,
                      area=request.area, phone=turn.user.phone or turn.user.address,
                      buttons=(buttons.button("user", "approve", ref, "Approve"),
                               buttons.button("user", "block", ref, "Block")))


DIALOG = Dialog(
    name="registration", table=TABLE,
    commands=(
        route("*", when("the registration is blocked",
                        lambda turn: turn.facts["registration"] == "BLOCKED"), _blocked),
    ),
    routes=(
        route("start", ANYTHING, _greet),
        route("waiting", ANYTHING, _waiting),
        # "blocked" needs no route: the command above takes it, or `_look_up` moved it on.
        route(("name", "shop", "area"), ANYTHING, _answered),
    ),
    help=_help, cancel=_cancel, thanks=None, after_language=_ask_again, look_up=_look_up,
)
