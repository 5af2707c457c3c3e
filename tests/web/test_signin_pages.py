"""Signing in on the web, end to end through the real app and the fake Graph API: the code
arrives on WhatsApp, the session cookie is safe, every form needs its CSRF token, and signing out
(here or everywhere) ends sessions and tokens."""

from __future__ import annotations

import re
import time

from aiohttp import web

from bot.app import create_app
from tests.conftest import eventually, post_webhook
from tests.fakegraph import fixture
from tests.web.conftest import api_token, bearer, code_for, csrf_of, web_sign_in
from web import home
from web.auth import signed_in


def _cookie_header(response, name: str) -> str:  # type: ignore[no-untyped-def]
    for value in response.headers.getall("Set-Cookie", []):
        if value.startswith(name + "="):
            return str(value)
    raise AssertionError(f"no {name} cookie set")


async def test_a_shop_signs_in_with_the_code_sent_on_whatsapp_and_sees_its_home(
        client, graph, people):
    done = await web_sign_in(client, graph, people.retailer.phone)
    cookie = _cookie_header(done, "khaacho_session")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # the page was asked for on 127.0.0.1
    assert "kh_" in cookie  # the token itself, of which only the hash is stored
    home = await client.get("/app")
    html = await home.text()
    assert home.status == 200 and "Namaste, Ram Kirana" in html and "Shop" in html
    assert 'action="/signout"' in html and 'action="/signout/everywhere"' in html
    # What WhatsApp got: the code (as the approved template: this number never wrote to us).
    message = [m for m in graph.sent if m.get("to") == "9779820000001"][-1]
    assert message["type"] == "template"
    assert message["template"]["name"] == "khaacho_signin_code"


async def test_the_code_goes_as_text_to_someone_who_wrote_today(client, graph, people):
    hello = fixture("message_text")
    value = hello["entry"][0]["changes"][0]["value"]
    value["contacts"][0]["wa_id"] = value["messages"][0]["from"] = "9779820000001"
    value["messages"][0]["timestamp"] = str(int(time.time()) - 60)
    assert (await post_webhook(client, hello)).status == 200
    await eventually(lambda: any(m.get("to") == "9779820000001" for m in graph.sent))
    await web_sign_in(client, graph, people.retailer.phone)
    message = [m for m in graph.sent if m.get("to") == "9779820000001"][-1]
    assert message["type"] == "text"
    assert re.search(r"Your Khaacho sign-in code is \d{6}\. It works for 5 minutes",
                     message["text"]["body"])


async def test_cookies_are_secure_when_the_site_is_not_localhost(client, graph, people):
    # A client on plain HTTP does not send Secure cookies back, so this one carries them itself.
    host = {"Host": "khaacho.example"}
    page = await client.get("/signin", headers=host)
    csrf = _cookie_header(page, "khaacho_csrf")
    assert "Secure" in csrf and "HttpOnly" in csrf and "SameSite=Lax" in csrf
    jar = {"Cookie": f"khaacho_csrf={page.cookies['khaacho_csrf'].value}"}
    sent = await client.post("/signin", headers=host | jar, allow_redirects=False, data={
        "csrf": csrf_of(await page.text()), "phone": people.vendor.phone})
    assert sent.status == 303
    assert "Secure" in _cookie_header(sent, "khaacho_signin_phone")
    jar["Cookie"] += f"; khaacho_signin_phone={sent.cookies['khaacho_signin_phone'].value}"
    code = await code_for(graph, people.vendor.phone)
    done = await client.post("/signin/code", headers=host | jar, allow_redirects=False,
                             data={"csrf": csrf_of(await page.text()), "code": code})
    assert done.status == 303
    cookie = _cookie_header(done, "khaacho_session")
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


async def test_pages_ask_to_sign_in_first_and_come_back_after(client, graph, people):
    away = await client.get("/app?tab=1", allow_redirects=False)
    assert away.status == 303 and away.headers["Location"] == "/signin?next=/app?tab=1"
    page = await client.get(away.headers["Location"])
    assert 'name="next" value="/app?tab=1"' in await page.text()


async def test_a_redirect_after_signing_in_never_leaves_the_site(client, graph, people):
    page = await client.get("/signin?next=//evil.example/x")
    assert 'name="next" value="/app"' in await page.text()


async def test_a_form_without_its_csrf_token_or_from_another_site_is_refused(
        client, graph, people, pool):
    page = await client.get("/signin")
    token = csrf_of(await page.text())
    for data, headers in (({"phone": people.retailer.phone}, {}),
                          ({"phone": people.retailer.phone, "csrf": "x" * 48}, {}),
                          ({"phone": people.retailer.phone, "csrf": token},
                           {"Origin": "https://evil.example"})):
        refused = await client.post("/signin", data=data, headers=headers,
                                    allow_redirects=False)
        assert refused.status == 403, data
        assert "This form has expired or did not come from this site" in await refused.text()
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM auth_codes") == 0
    # The same form with its token and from this site goes through.
    ok = await client.post("/signin", data={"phone": people.retailer.phone, "csrf": token},
                           headers={"Origin": str(client.make_url("")).rstrip("/")},
                           allow_redirects=False)
    assert ok.status == 303


async def test_signing_out_needs_the_sessions_csrf_token(client, graph, people):
    await web_sign_in(client, graph, people.retailer.phone)
    home = await client.get("/app")
    # The token before signing in is not the session's.
    refused = await client.post("/signout", data={"csrf": "0" * 64}, allow_redirects=False)
    assert refused.status == 403
    assert (await client.get("/app", allow_redirects=False)).status == 200
    out = await client.post("/signout", data={"csrf": csrf_of(await home.text())},
                            allow_redirects=False)
    assert out.status == 303 and out.headers["Location"] == "/signin"
    assert (await client.get("/app", allow_redirects=False)).status == 303


async def test_a_wrong_code_is_refused_on_the_page_and_signs_nobody_in(client, graph, people):
    page = await client.get("/signin")
    token = csrf_of(await page.text())
    await client.post("/signin", data={"csrf": token, "phone": people.retailer.phone})
    code = await code_for(graph, people.retailer.phone)
    wrong = "000000" if code != "000000" else "111111"
    refused = await client.post("/signin/code", data={"csrf": token, "code": wrong},
                                allow_redirects=False)
    assert refused.status == 401
    assert "That code is wrong or has expired" in await refused.text()
    assert "khaacho_session" not in refused.cookies
    assert (await client.get("/app", allow_redirects=False)).status == 303


async def test_unknown_and_blocked_numbers_are_told_the_same_and_get_no_code(
        client, graph, people, pool):
    pages = []
    for phone in (people.retailer.phone, "+9779841111111", people.blocked.phone):
        client.session.cookie_jar.clear()
        page = await client.get("/signin")
        sent = await client.post("/signin", data={"csrf": csrf_of(await page.text()),
                                                  "phone": phone}, allow_redirects=False)
        assert sent.status == 303 and sent.headers["Location"] == "/signin/code?next=/app"
        code_page = await client.get(sent.headers["Location"])
        html = (await code_page.text()).replace(phone, "PHONE")
        pages.append((code_page.status, html.replace(csrf_of(html), "CSRF")))
    assert pages[0] == pages[1] == pages[2]
    assert "If this number is registered, a code was sent to it on WhatsApp" in pages[0][1]
    await code_for(graph, people.retailer.phone)
    async with pool.acquire() as conn:
        queued = await conn.fetch("SELECT recipient FROM outbox")
    assert [r["recipient"] for r in queued] == ["9779820000001"]


async def test_the_language_toggle_is_remembered(client, graph, people):
    english = await client.get("/signin")
    assert '<html lang="en">' in await english.text()
    nepali = await client.get("/signin?lang=ne")
    assert '<html lang="ne">' in await nepali.text()
    assert "khaacho_lang=ne" in _cookie_header(nepali, "khaacho_lang")
    again = await client.get("/signin")
    assert '<html lang="ne">' in await again.text() and "साइन इन" in await again.text()


async def test_a_signed_in_person_reads_their_own_language_by_default(client, graph, people):
    await web_sign_in(client, graph, people.vendor.phone)  # a vendor who writes in Nepali
    html = await (await client.get("/app")).text()
    assert '<html lang="ne">' in html and "थोक बिक्रेता" in html
    toggled = await client.get("/app?lang=en")
    assert "Wholesaler" in await toggled.text()


async def test_sign_out_everywhere_ends_every_session_and_api_token(
        client, graph, people, aiohttp_client):
    token = api_token_client = await api_token(client, graph, people.vendor.phone)
    await web_sign_in(client, graph, people.vendor.phone, count=2)
    assert (await client.get("/api/v1/me", headers=bearer(token))).status == 200
    home = await client.get("/app")
    out = await client.post("/signout/everywhere", data={"csrf": csrf_of(await home.text())},
                            allow_redirects=False)
    assert out.status == 303
    gone = await client.get("/api/v1/me", headers=bearer(api_token_client))
    assert gone.status == 401 and (await gone.json())["error"]["code"] == "unauthorized"
    assert (await client.get("/app", allow_redirects=False)).status == 303


async def test_the_home_page_fits_a_phone_and_runs_no_script(client, graph, people):
    await web_sign_in(client, graph, people.admin.phone)
    home = await client.get("/app")
    html = await home.text()
    assert 'name="viewport" content="width=device-width, initial-scale=1"' in html
    assert "<script" not in html
    policy = home.headers["Content-Security-Policy"]
    assert "form-action 'self'" in policy and "script-src" not in policy
    css = await client.get("/web/static/web.css")
    assert css.status == 200 and "max-width" in await css.text()


async def test_a_page_declared_for_some_roles_refuses_the_others_with_a_403_page(
        wa_settings, aiohttp_client, graph, people):
    @signed_in("ADMIN", "OPERATOR")
    async def staff_page(request: web.Request, user) -> web.Response:  # type: ignore[no-untyped-def]
        return web.Response(text=f"staff page for {user.name}")

    app = create_app(wa_settings)
    app.router.add_get("/app/staff-only", staff_page)
    client = await aiohttp_client(app)
    assert (await client.get("/app/staff-only", allow_redirects=False)).status == 303
    await web_sign_in(client, graph, people.retailer.phone)
    refused = await client.get("/app/staff-only")
    assert refused.status == 403 and "This page is not open to your role" in await refused.text()
    assert refused.content_type == "text/html"
    client.session.cookie_jar.clear()
    await web_sign_in(client, graph, people.operator.phone)
    allowed = await client.get("/app/staff-only")
    assert allowed.status == 200 and await allowed.text() == "staff page for Om Operator"


async def test_every_link_on_home_opens_for_every_role(client, graph, people):
    for role in ("ADMIN", "OPERATOR", "VENDOR", "RETAILER"):
        client.session.cookie_jar.clear()
        await web_sign_in(client, graph, people.by_role(role).phone)
        html = await (await client.get("/app")).text()
        links = re.findall(r'href="(/app/[^"?#]+)"', html)
        assert links, role
        for link in links:
            page = await client.get(link)
            assert page.status == 200, (role, link, page.status)


async def test_home_links_only_to_pages_that_are_served(wa_settings, aiohttp_client, graph,
                                                        people):
    app = create_app(wa_settings)
    client = await aiohttp_client(app)
    for person in (people.vendor, people.admin):
        client.session.cookie_jar.clear()
        await web_sign_in(client, graph, person.phone)
        html = await (await client.get("/app")).text()
        served = home.served_paths(app)
        for path, _ in home.LINKS[person.role]:
            assert (f'href="{path}"' in html) == (path in served), path
    assert "/app/orders" in served and "/app/no-such-page" not in served
