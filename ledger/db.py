"""Where the database is: a configured PostgreSQL server, or an embedded one for newcomers."""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path
from typing import Any

import asyncpg

log = logging.getLogger(__name__)

_embedded: dict[Path, Any] = {}


def embedded_url(data_dir: Path) -> str:
    """Start (or reuse) an embedded PostgreSQL in `data_dir/pg` and return its URL.

    The server keeps running while any process that started it lives; its data stays on disk.
    """
    pgdata = (data_dir / "pg").resolve()
    if pgdata not in _embedded:
        pgdata.mkdir(parents=True, exist_ok=True)
        with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset
            warnings.simplefilter("ignore")
            # Imported here: only a run without DATABASE_URL needs the embedded server.
            from pgserver import get_server  # type: ignore[attr-defined]

            _embedded[pgdata] = get_server(pgdata)
        log.info("embedded PostgreSQL running in %s", pgdata)
    return str(_embedded[pgdata].get_uri())


def database_url(configured: str | None, data_dir: Path) -> str:
    return configured or embedded_url(data_dir)


async def _init_connection(conn: asyncpg.Connection) -> None:
    for name in ("json", "jsonb"):
        await conn.set_type_codec(name, encoder=_dumps, decoder=_loads, schema="pg_catalog")


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _loads(value: str) -> Any:
    return json.loads(value)


async def create_pool(url: str, *, min_size: int = 2, max_size: int = 20) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        url, min_size=min_size, max_size=max_size, init=_init_connection, command_timeout=60
    )
    assert pool is not None
    return pool


async def connect(url: str) -> asyncpg.Connection:
    conn = await asyncpg.connect(url)
    await _init_connection(conn)
    return conn
