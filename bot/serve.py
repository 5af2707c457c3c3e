"""`khaacho serve`: refuse a half-made configuration, migrate, then run the app until stopped."""

from __future__ import annotations

import asyncio
import logging
import sys

from aiohttp import web

from bot.app import create_app
from bot.security import server_options
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
    problems = settings.serve_problems()
    if problems:
        for problem in problems:
            print(f"khaacho serve: {problem}", file=sys.stderr)
        return 2
    url = db.database_url(settings.database_url, settings.khaacho_data_dir)
    asyncio.run(_migrate(url))  # safe with several processes: migrations take an advisory lock
    app = create_app(settings.model_copy(update={"database_url": url}))
    log.info("serving on http://%s:%d", host, port)
    if settings.simulator_served:
        log.info("web chat simulator at http://%s:%d/simulator (this machine only)", host, port)
    web.run_app(app, host=host, port=port, print=None, access_log=None,
                **server_options(settings))
    return 0
