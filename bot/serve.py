"""`khaacho serve`: refuse a half-made configuration, migrate (as the owner), then run the app
(as its own role) until stopped: in this process, or in `--workers N` processes sharing the
port (bot/processes.py)."""

from __future__ import annotations

import asyncio
import logging
import os
import sys

import asyncpg
from aiohttp import web

from bot.app import create_app
from bot.security import server_options
from bot.settings import Settings
from ledger import db, migrate

log = logging.getLogger(__name__)


def serve(settings: Settings, host: str, port: int, *, workers: int = 1,
          role: str = "all") -> int:
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
    settings = settings.model_copy(update={"database_url": urls.app})
    if workers > 1:
        from bot.processes import supervise

        return supervise(settings, host, port, role, workers)
    run_app(settings, host, port, role=role)
    return 0


def run_app(settings: Settings, host: str, port: int, *, role: str = "all",
            reuse_port: bool = False) -> None:
    """One server process: `role` web (webhook, pages, API), workers (inbox, sender, jobs;
    only /healthz, /readyz and /metrics are served) or all."""
    app = create_app(settings, role=role)
    if role == "workers" and settings.workers_nice:
        # Handling can wait a few milliseconds; an acknowledgement Meta waits for should not.
        os.nice(settings.workers_nice)
    log.info("serving on http://%s:%d (role %s)", host, port, role)
    if settings.simulator_served and role != "workers":
        log.info("web chat simulator at http://%s:%d/simulator (this machine only)", host, port)
    # On SIGTERM aiohttp closes the listener (Meta retries what it could not deliver) and waits
    # for the requests in flight; the workers finish their message meanwhile (bot/shutdown.py).
    web.run_app(app, host=host, port=port, print=None, access_log=None, reuse_port=reuse_port,
                shutdown_timeout=settings.shutdown_timeout_seconds,
                loop=new_event_loop(settings.event_loop), **server_options(settings))


def new_event_loop(kind: str) -> asyncio.AbstractEventLoop:
    """uvloop spends about half the CPU of asyncio's loop on each socket read and write and on
    each wake-up, which is most of what a message costs the server (docs/benchmarks.md)."""
    if kind == "uvloop":
        import uvloop

        return uvloop.new_event_loop()
    return asyncio.new_event_loop()
