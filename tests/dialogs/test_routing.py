"""The router's order, without a database: commands first, then the fallbacks every dialog
shares (language, help, cancel, thanks), then the state's routes; a dialog may leave thanks out."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from dialogs import routing
from dialogs.io import Event
from dialogs.machine import Table
from dialogs.routing import ANYTHING, Dialog, route, said, tapped
from dialogs.turn import Turn
from ledger.conversations import Conversation
from ledger.users import User
from tests.dialogs.test_draft_rules import parser

TABLE = Table("retailer", states=["idle", "busy"], initial="idle", transitions=[
    {"trigger": "help", "source": "*", "dest": None},
    {"trigger": "cancel", "source": "*", "dest": "idle"},
])
ME = User(1, "+9779800000009", "9779800000009", None, "Tester", "RETAILER", "en", True)


def _dialog(taken: list[str], *, thanks: bool = True) -> Dialog:
    def handler(name: str) -> routing.Handler:
        async def run(turn: Turn) -> None:
            taken.append(name)
        run.__doc__ = f"{name}."
        return run

    return Dialog(
        name="retailer", table=TABLE,
        commands=(route("*", tapped("order", "accept"), handler("accept")),),
        routes=(route("busy", said("confirm"), handler("confirm")),
                route("*", ANYTHING, handler("other"))),
        help=handler("help"), cancel=handler("cancel"),
        thanks=handler("thanks") if thanks else None,
    )


def _route(dialog: Dialog, text: str = "", choice: str | None = None,
           state: str = "idle") -> None:
    event = Event(0, "9779800000009", "9779800000009", None, None, ME, text, choice, True,
                  datetime.now(UTC))
    turn = Turn(conn=None, event=event, user=ME, conversation=Conversation(1, "retailer", state),
                table=TABLE, parser=parser())  # type: ignore[arg-type]  # no database here
    asyncio.run(routing.run(dialog, turn))


@pytest.mark.parametrize(("text", "choice", "state", "expected"), [
    ("", "order:accept:KH-000001", "idle", "accept"),
    ("help", None, "busy", "help"),
    ("मद्दत", None, "idle", "help"),
    ("cancel", None, "busy", "cancel"),
    ("dhanyabad dai 🙏", None, "idle", "thanks"),
    ("ho", None, "busy", "confirm"),
    ("ho", None, "idle", "other"),
    ("", "order:confirm:KH-000001", "idle", "other"),
])
def test_commands_then_fallbacks_then_the_states_routes(text, choice, state, expected):
    taken: list[str] = []
    _route(_dialog(taken), text, choice, state)
    assert taken == [expected]


def test_a_dialog_without_the_thanks_fallback_routes_thanks_as_any_message():
    taken: list[str] = []
    _route(_dialog(taken, thanks=False), "thank you")
    assert taken == ["other"]


def test_a_dialog_whose_routes_leave_a_message_untaken_is_a_programming_error():
    dialog = Dialog(name="retailer", table=TABLE, commands=(), routes=(),
                    help=_dialog([]).help, cancel=_dialog([]).cancel)
    with pytest.raises(AssertionError, match="no route"):
        _route(dialog, "chini 1 kg")


def test_the_routing_table_lists_commands_fallbacks_and_routes_in_order():
    rows = routing.table_rows(_dialog([]))
    assert [what for _, _, what in rows] == [
        "accept.", "Switch language, or ask which one.", "help.", "cancel.", "thanks.",
        "confirm.", "other."]
