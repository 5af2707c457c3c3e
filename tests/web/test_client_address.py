"""Limits per client address count the TCP peer, a trusted proxy's last X-Forwarded-For entry
only when told to trust it, and an IPv6 client by its /64."""

from __future__ import annotations

from unittest.mock import Mock

from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from bot.appkeys import SETTINGS
from bot.settings import Settings
from web.session import client_address


def _request(peer: str, forwarded: str | None, trust: bool) -> web.Request:
    app = web.Application()
    app[SETTINGS] = Settings(_env_file=None, web_trust_forwarded_for=trust)  # type: ignore[call-arg]
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    transport = Mock()
    transport.get_extra_info.return_value = (peer, 1234)
    return make_mocked_request("POST", "/signin", headers=headers, app=app, transport=transport)


def test_the_peer_counts_unless_a_proxy_is_trusted():
    assert client_address(_request("192.0.2.7", "203.0.113.9", trust=False)) == "192.0.2.7"
    assert client_address(_request("127.0.0.1", "198.51.100.1, 203.0.113.9", trust=True)) \
        == "203.0.113.9"
    assert client_address(_request("127.0.0.1", "not an address", trust=True)) == "127.0.0.1"


def test_an_ipv6_client_counts_by_its_64():
    assert client_address(_request("2001:db8:1:2:aaaa::1", None, trust=False)) \
        == "2001:db8:1:2::/64"
    assert client_address(_request("::ffff:192.0.2.7", None, trust=False)) == "192.0.2.7"
