"""The web layer's own files (stylesheet, images, vendored scripts) from `web/static`, under
/web/static/, with a short cache and nothing outside that folder."""

from __future__ import annotations

from aiohttp import web

from web.render import STATIC


def routes(app: web.Application) -> None:
    app.router.add_static("/web/static", STATIC, append_version=False, show_index=False,
                          follow_symlinks=False)
