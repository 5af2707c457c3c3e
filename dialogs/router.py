"""Picks the dialog for an event: registration for numbers nobody approved yet, else the dialog
of the user's role. Loads the conversation, lets the dialog's routes answer, saves it — all
inside the handling transaction, so the replies and the state they report commit together."""

from __future__ import annotations

import logging

import asyncpg

from dialogs import admin, language, registration, retailer, routing, vendor
from dialogs.io import Answer, Event, Policy
from dialogs.routing import Dialog
from dialogs.turn import Turn
from ledger import catalog_store, conversations, registrations
from ledger.users import User
from locales import guess_language
from locales.replies import Reply

log = logging.getLogger(__name__)

DIALOGS: dict[str, Dialog] = {
    d.name: d for d in (registration.DIALOG, retailer.DIALOG, vendor.DIALOG, admin.DIALOG)
}


def dialog_of(user: User) -> Dialog:
    if not user.active:
        return registration.DIALOG
    return {"RETAILER": retailer.DIALOG, "VENDOR": vendor.DIALOG}.get(user.role, admin.DIALOG)


DEFAULT_POLICY = Policy()


async def respond(
    conn: asyncpg.Connection, event: Event, policy: Policy = DEFAULT_POLICY
) -> Answer:
    """Answer one inbound event with replies; runs inside the handling transaction."""
    if not event.supported or (event.media_id is not None and (
            event.user is None or not dialog_of(event.user).takes_photos)):
        return Answer([Reply("unsupported")], event.user)
    user = event.user
    if user is None:
        user = await registrations.first_contact(
            conn, wa_id=event.wa_id, wa_user_id=event.wa_user_id,
            profile_name=event.profile_name, language=guess_language(event.text))
    dialog = dialog_of(user)
    conversation = await conversations.load(conn, user.id, dialog.name, dialog.table.initial)
    turn = Turn(conn, event, user, conversation, dialog.table, await catalog_store.parser(conn),
                policy=policy)
    first_contact = conversation.new
    await routing.run(dialog, turn)
    if first_contact and dialog is not registration.DIALOG:
        language.offer_once(turn)
    await conversations.save(conn, conversation)
    return Answer(turn.replies, turn.user)
