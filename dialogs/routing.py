"""Routing as data. Each dialog declares, beside its `transitions` state table, which handler
takes a message — (states, what the message must match, handler) — in two lists:

- `commands`: taps and typed commands, tried first in every state ("accept KH-000123");
- `routes`: what each state expects, tried after the fallbacks; the last takes anything.

Between them the router runs one list of fallbacks for every dialog, as python-telegram-bot's
ConversationHandler does: a language switch, help, cancel, thanks. A dialog says what help and
cancel mean for it (and may leave thanks out). The generated diagram of each dialog shows its
routes as a table, so a conversation reads as its table.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from dialogs import language, words
from dialogs.machine import Table
from dialogs.turn import Turn
from ledger.conversations import DialogName

Handler = Callable[[Turn], Awaitable[None]]
ANY = "*"


@dataclass(frozen=True)
class Match:
    """What a message must be for a route to take it; `doc` is how the diagram names it."""

    doc: str
    test: Callable[[Turn], bool]


def tapped(kind: str, *actions: str) -> Match:
    """A tapped button or row `kind:action:…` (any action when none are named)."""
    def test(turn: Turn) -> bool:
        tap = turn.tap
        return tap is not None and tap.kind == kind and (not actions or tap.action in actions)
    return Match(f"tap `{kind}:{'|'.join(actions) or '*'}`", test)


def said(*intents: str) -> Match:
    """Typed text whose intent is one of `intents` (see catalog/intent.py)."""
    return Match("says " + " / ".join(intents), lambda turn: turn.intent() in intents)


def typed(pattern: re.Pattern[str], doc: str) -> Match:
    """Typed text (not a tap) that `pattern` finds."""
    return Match(doc, lambda turn: not turn.choice and bool(pattern.search(turn.text)))


def when(doc: str, test: Callable[[Turn], bool]) -> Match:
    return Match(doc, test)


ANY_TEXT = Match("any text", lambda turn: not turn.choice)
ANY_TAP = Match("any other tap", lambda turn: bool(turn.choice))
ANYTHING = Match("anything else", lambda turn: True)


@dataclass(frozen=True)
class Route:
    states: tuple[str, ...]  # (ANY,) for every state
    match: Match
    handler: Handler

    def takes(self, turn: Turn) -> bool:
        return (ANY in self.states or turn.state in self.states) and self.match.test(turn)


def route(states: str | Sequence[str], match: Match, handler: Handler) -> Route:
    return Route((states,) if isinstance(states, str) else tuple(states), match, handler)


async def say_thanks(turn: Turn) -> None:
    """Thanked: answered politely; whatever they were doing stays as it was."""
    turn.say("thanks", name=turn.user.name)


@dataclass(frozen=True)
class Dialog:
    name: DialogName
    table: Table
    commands: tuple[Route, ...]
    routes: tuple[Route, ...]
    help: Handler
    cancel: Handler
    thanks: Handler | None = say_thanks  # None: "thank you" is not a fallback here
    after_language: Handler | None = None  # after a switch, e.g. ask the open question again
    look_up: Handler | None = None  # reads what the routes look at (runs first)
    takes_photos: bool = False  # a photo's caption is read (else: "please type")


@dataclass(frozen=True)
class Fallback:
    name: str
    match: Match
    handler: Callable[[Dialog], Handler | None]


async def _language(turn: Turn) -> None:
    """Switch language, or ask which one."""
    await language.handle(turn)


def _after_switch(dialog: Dialog) -> Handler:
    async def run(turn: Turn) -> None:
        await _language(turn)
        if dialog.after_language is not None:
            await dialog.after_language(turn)
    return run


FALLBACKS: tuple[Fallback, ...] = (
    Fallback("language", Match("asks for a language (or taps one)",
                               lambda turn: language.requested(turn) is not None), _after_switch),
    Fallback("help", Match("asks for help", lambda turn: turn.wants_help()),
             lambda dialog: dialog.help),
    Fallback("cancel", Match("says cancel", lambda turn: turn.wants_cancel()),
             lambda dialog: dialog.cancel),
    Fallback("thanks", Match("says thank you",
                             lambda turn: not turn.choice and words.is_thanks(turn.text)),
             lambda dialog: dialog.thanks),
)


async def run(dialog: Dialog, turn: Turn) -> None:
    """Route one message: commands, then the fallbacks, then the state's routes."""
    if dialog.look_up is not None:
        await dialog.look_up(turn)
    for command in dialog.commands:
        if command.takes(turn):
            await command.handler(turn)
            return
    for fallback in FALLBACKS:
        handler = fallback.handler(dialog)
        if handler is not None and fallback.match.test(turn):
            await handler(turn)
            return
    for step in dialog.routes:
        if step.takes(turn):
            await step.handler(turn)
            return
    raise AssertionError(f"{dialog.name}: no route took the message (the last must take all)")


def table_rows(dialog: Dialog) -> list[tuple[str, str, str]]:
    """(states, message, what happens) for the diagram: commands, fallbacks, routes in order."""
    def doc(handler: Handler) -> str:  # the docstring's first paragraph, on one line
        return " ".join((handler.__doc__ or handler.__name__).strip().split("\n\n")[0].split())
    rows = [(", ".join(r.states), r.match.doc, doc(r.handler)) for r in dialog.commands]
    for fallback in FALLBACKS:
        handler = fallback.handler(dialog)
        if handler is None:
            continue
        what = doc(handler)
        if fallback.name == "language":
            what = doc(_language) + (f" Then: {doc(dialog.after_language)}"
                                     if dialog.after_language else "")
        rows.append((ANY, fallback.match.doc, what))
    rows += [(", ".join(r.states), r.match.doc, doc(r.handler)) for r in dialog.routes]
    return rows
