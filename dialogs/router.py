"""Picks the dialog for an event: registration for numbers nobody approved yet, else the dialog
of the user's role. Loads the conversation, lets the dialog answer, saves it — all inside the
handling transaction, so the replies and the state they report commit together."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from types import ModuleType

import asyncpg

from dialogs import (
    admin,
    language,
    registration,
    retailer,
    state,
    understanding,
    vendor,
    words,
)
from dialogs.io import Event, Reply
from dialogs.machine import Table
from dialogs.turn import Turn
from ledger.users import User
from locales import guess_language

log = logging.getLogger(__name__)

DIALOGS: dict[str, ModuleType] = {
    "registration": registration,
    "retailer": retailer,
    "vendor": vendor,
    "admin": admin,
}


def dialog_of(user: User) -> str:
    if not user.active:
        return "registration"
    return {"RETAILER": "retailer", "VENDOR": "vendor"}.get(user.role, "admin")


async def respond(conn: asyncpg.Connection, event: Event) -> list[Reply]:
    """Answer one inbound event with replies; runs inside the handling transaction."""
    if not event.supported:
        return [Reply("unsupported")]
    user = event.user
    if user is None:
        user = await registration.first_contact(conn, event, guess_language(event.text))
    name = dialog_of(user)
    module = DIALOGS[name]
    table: Table = module.TABLE
    conversation = await state.load(conn, user.id, name, table.initial)  # type: ignore[arg-type]
    turn = Turn(conn, event, user, conversation, table, await understanding.parser(conn))
    handle: Callable[[Turn], Awaitable[None]] = module.handle
    first_contact = conversation.new
    if name != "registration" and not turn.choice and words.is_thanks(turn.text):
        turn.say("thanks", name=user.name)  # whatever they were doing stays as it was
    else:
        await handle(turn)
    if first_contact and name != "registration":
        language.offer_once(turn)
    await state.save(conn, conversation)
    return turn.replies
