"""The REST API under /api/v1: the registry (`registry.API`), its endpoints (one module per
resource, imported here so they declare themselves), errors, rate limits and the OpenAPI
document."""

from __future__ import annotations

from aiohttp import web

from web.api import analytics as _analytics  # noqa: F401 - declares its endpoints on API
from web.api import auth as _auth  # noqa: F401 - declares its endpoints on API
from web.api import catalog as _catalog  # noqa: F401
from web.api import openapi, ratelimit
from web.api import orders as _orders  # noqa: F401
from web.api import payments as _payments  # noqa: F401
from web.api import retailers as _retailers  # noqa: F401
from web.api import staff as _staff  # noqa: F401
from web.api.registry import API

# Resource modules add themselves here, one import each.
ENDPOINT_MODULES = (_auth, _analytics, _orders, _catalog, _payments, _retailers, _staff)


def mount(app: web.Application) -> None:
    ratelimit.install(app)
    API.mount(app)
    openapi.routes(app, API)
