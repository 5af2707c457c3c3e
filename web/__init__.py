"""The web layer: pages for people with a browser and the REST API, on the same services as chat.

`mount(app)` adds everything to the app `bot.app.create_app` builds: sign-in pages, /app, the
API under /api/v1 with its OpenAPI document and docs page, JSON errors for /api/, and the
web layer's files under /web/static. See README "Web and API" and docs/architecture.md.
"""

from __future__ import annotations

from aiohttp import web

# The API package first: web.auth imports web.api.errors, and web.api's endpoint modules import
# web.auth back, so a page module imported before it would find web.auth half made.
from web import api

# isort: split
from web import analytics, home, retailer, signin, staff, static, vendor
from web.api.errors import middleware as api_errors


def mount(app: web.Application) -> None:
    """Add the web layer's routes and middleware to `app` (before it starts)."""
    app.middlewares.append(api_errors)
    signin.routes(app)
    home.routes(app)
    staff.routes(app)
    analytics.routes(app)
    retailer.routes(app)  # before vendor: /app/orders/{number}/cancel is the retailer's
    vendor.routes(app)
    static.routes(app)
    api.mount(app)
