"""`khaacho serve`: migrate, then run the app until stopped."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from bot.app import create_app
from bot.settings import Settings
from ledger import db, migrate

log = logging.getLogger(__name__)


async def _migrate(url: str) -> None:
    conn = await db.connect(url)
    try:
        await migrate.migrate(conn)
    finally:
        await conn.close()


def serve(settings: Settings, host: str, port: int) -> int:
    url = db.database_url(settings.database_url, settings.khaacho_data_dir)
    asyncio.run(_migrate(url))  # safe with several processes: migrations take an advisory lock
    app = create_app(settings.model_copy(update={"database_url": url}))
    log.info("serving on http://%s:%d", host, port)
    web.run_app(app, host=host, port=port, print=None, access_log=None)
    return 0
