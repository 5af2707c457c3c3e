"""What the vendor and retailer pages share: a connection per page, ledger refusals worded as
chat words them, the outbound queue, and the words every such page uses."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from aiohttp import web

from bot import statement_doc
from bot.appkeys import MESSAGES, OUTBOUND
from ledger.errors import AlreadyDone, LedgerError, NotPermitted
from ledger.statements import Statement
from ledger.users import User
from locales import Language
from web import render
from web.api.errors import status_of


def lang_of(request: web.Request, user: User) -> Language:
    return render.page_language(request, user.language)


async def statement_file(request: web.Request, found: Statement, fmt: str,
                         lang: Language) -> bytes:
    """The statement drawn as chat sends it, in a worker thread: a PDF takes fpdf2 a few hundred
    ms of font parsing and subsetting, which on the event loop held up every other request."""
    return await asyncio.to_thread(statement_doc.render, found, fmt,  # type: ignore[arg-type]
                                   lang, request.app[MESSAGES])


def explain(request: web.Request, user: User, error: LedgerError, **params: Any) -> str:
    """A ledger refusal in the page's language, worded exactly as chat words it."""
    messages = request.app[MESSAGES]
    lang = lang_of(request, user)
    if isinstance(error, NotPermitted):
        return messages.render(lang, "not_allowed",
                               action=params.get("action") or error.params.get("action"))
    if isinstance(error, AlreadyDone):
        return messages.render(lang, "already_done", **{**error.params, **params})
    return messages.render(lang, "error", key=error.key, params={**error.params, **params})


def refusal_status(error: LedgerError) -> int:
    """The page answers a refusal with the status the API gives it (409, 422, 404…)."""
    return status_of(error)


def unit_words(request: web.Request, user: User) -> Any:
    """`u("kg")`: a unit as chat names it in the page's language."""
    messages = request.app[MESSAGES]
    lang = lang_of(request, user)
    return lambda unit: messages.gettext(lang, unit)


async def send(request: web.Request, conn: Any, replies: list[Any]) -> None:
    """Queue WhatsApp messages in the page's transaction (sent once it commits)."""
    await request.app[OUTBOUND].send(conn, replies)


def milli(value: int) -> Any:
    """Milli-units as a plain number for the `number` filter (1500 → 1.5)."""
    return (Decimal(value) / 1000).normalize()
