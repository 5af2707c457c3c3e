"""`khaacho serve`: refuse a half-made configuration, migrate (as the owner), then run the app
(as its own role) until stopped."""

from __future__ import annotations

import asyncio
import logging
import sys

import asyncpg
from aiohttp import web

from bot.app import create_app
from bot.security import server_options
from bot.settings import Settings
from ledger import db, migrate

log = logging.getLogger(__name__)


def serve(settings: Settings, host: str, port: int) -> int:
    problems = settings.serve_problems()
    if problems:
        for problem in problems:
            print(f"khaacho serve: {problem}", file=sys.stderr)
        return 2
    urls = db.urls(settings.database_url, settings.migrate_database_url,
                   settings.khaacho_data_dir)
    try:  # safe with several processes: migrations take an advisory lock
        asyncio.run(migrate.run(urls.migrate, urls.app))
    except asyncpg.InsufficientPrivilegeError as exc:
        print(f"khaacho serve: cannot migrate: {exc}; migrations run as the tables' owner: set "
              "MIGRATE_DATABASE_URL (README: Database roles)", file=sys.stderr)
        return 2
    app = create_app(settings.model_copy(update={"database_url": urls.app}))
    log.info("serving on http://%s:%d", host, port)
    if settings.simulator_served:
        log.info("web chat simulator at http://%s:%d/simulator (this machine only)", host, port)
    # On SIGTERM aiohttp closes the listener (Meta retries what it could not deliver) and waits
    # for the requests in flight; the workers finish their message meanwhile (bot/shutdown.py).
    web.run_app(app, host=host, port=port, print=None, access_log=None,
                shutdown_timeout=settings.shutdown_timeout_seconds, **server_options(settings))
    return 0
