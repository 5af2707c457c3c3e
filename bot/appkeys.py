"""Typed keys for what the app shares between handlers (no module globals)."""

from __future__ import annotations

import aiohttp
import asyncpg
from aiohttp import web

from bot.handler import Handler
from bot.outbound import Outbound
from bot.settings import Settings
from bot.shutdown import Shutdown
from bot.store_queue import StoreQueue
from locales.render import Messages

SETTINGS = web.AppKey("settings", Settings)
POOL = web.AppKey("pool", asyncpg.Pool)
# The dashboards' and analytics' pool: on READ_DATABASE_URL, read-only; else the same as POOL.
READ_POOL = web.AppKey("read_pool", asyncpg.Pool)
HTTP = web.AppKey("http", aiohttp.ClientSession)
# The webhook's writer: bodies that arrive together are stored in one transaction.
STORE_QUEUE = web.AppKey("store_queue", StoreQueue)
MESSAGES = web.AppKey("messages", Messages)
HANDLER = web.AppKey("handler", Handler)
OUTBOUND = web.AppKey("outbound", Outbound)
SHUTDOWN = web.AppKey("shutdown", Shutdown)
