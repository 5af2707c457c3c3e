"""The landing page: server-rendered, in English or Nepali, without script, under a CSP that
lets it load only its own stylesheet; it offers the simulator only to whom it is served."""

from __future__ import annotations

import re

import pytest

from bot.app import create_app
from bot.settings import Settings
from tests.channel.test_hardening import non_loopback_address


@pytest.fixture
def local_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={
        "simulator_enabled": True, "whatsapp_verify_token": None, "whatsapp_app_secret": None})


def _links(html: str) -> list[str]:
    return re.findall(r'href="([^"]*)"', html)


async def test_landing_page_says_what_khaacho_is_in_english_by_default(settings, aiohttp_client):
    client = await aiohttp_client(create_app(settings))
    response = await client.get("/")
    assert response.status == 200
    assert response.content_type == "text/html" and response.charset == "utf-8"
    html = await response.text()
    assert '<html lang="en">' in html and "Orders and credit for shops" in html
    assert "/healthz" in _links(html) and "/?lang=ne" in _links(html)
    assert "Dashboard" in html
    # Nothing to run: no script at all, and the only resource is this server's stylesheet.
    assert "<script" not in html and not re.search(r"\sstyle=|\son\w+=", html)
    policy = response.headers["Content-Security-Policy"]
    assert "style-src 'self'" in policy and "default-src 'none'" in policy
    assert "script-src" not in policy and "unsafe-inline" not in policy
    assert re.findall(r'<link[^>]*href="([^"]*)"', html) == ["/static/site.css"]
    css = await client.get("/static/site.css")
    assert css.status == 200 and css.content_type == "text/css"
    assert "body" in await css.text()


async def test_landing_page_reads_in_nepali_when_asked_or_preferred(settings, aiohttp_client):
    client = await aiohttp_client(create_app(settings))
    for request in ({"params": {"lang": "ne"}},
                    {"headers": {"Accept-Language": "ne-NP,ne;q=0.9,en;q=0.5"}},
                    {"headers": {"Accept-Language": "hi, ne;q=0.8"}}):
        response = await client.get("/", **request)
        html = await response.text()
        assert '<html lang="ne">' in html and "नेपालका पसलका लागि" in html, request
        assert response.headers["Content-Language"] == "ne"
        assert "/?lang=en" in _links(html) and "Read in English" in html
    english = await client.get("/", params={"lang": "en"},
                               headers={"Accept-Language": "ne-NP"})
    assert '<html lang="en">' in await english.text()
    assert "Accept-Language" in english.headers["Vary"]


async def test_landing_page_offers_the_simulator_only_where_it_is_served(
        settings, local_settings, aiohttp_client, aiohttp_server):
    served = await aiohttp_client(create_app(local_settings))
    html = await (await served.get("/")).text()
    tries = [link for link in _links(html) if link.startswith("/simulator")]
    assert "/simulator?phone=%2B9779820000001&amp;lang=ne" in html and len(tries) == 4, tries
    off = await aiohttp_client(create_app(settings))
    assert "/simulator" not in await (await off.get("/")).text()
    # Another machine gets the page, but no link to what it would be refused.
    server = await aiohttp_server(create_app(local_settings), host=non_loopback_address())
    remote = await aiohttp_client(server)
    page = await remote.get("/")
    assert page.status == 200 and "/simulator" not in await page.text()
