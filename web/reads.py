"""Connections for the pages and endpoints that only read and may be a few seconds behind: the
dashboards and analytics (README: Settings, `READ_DATABASE_URL`; docs/scaling.md).

`async with reading(app) as conn:` takes a connection from the read pool (a replica's, or the
primary's when none is set) in one read-only REPEATABLE READ transaction: everything a page
shows is from one snapshot (a refresh of the analytics committing mid-page cannot mix old and
new numbers), and a write slipped into such a page fails with or without a replica.

Only what need not read its own writes belongs here: never a page shown right after an action
(an order's page after accepting it, a statement after a payment), which a replica may not
have received yet. Signing in and sessions always use the primary.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from aiohttp import web

from bot.appkeys import READ_POOL


@asynccontextmanager
async def reading(app: web.Application) -> AsyncIterator[asyncpg.Connection]:
    """A read pool connection in a read-only snapshot transaction (see the module's doc)."""
    async with app[READ_POOL].acquire() as conn, conn.transaction(
            isolation="repeatable_read", readonly=True):
        yield conn
