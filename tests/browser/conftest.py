"""Browser tests: the real app on a real 127.0.0.1 port, driven by Debian's headless Chromium
through Playwright for Python (no browser download: `executable_path` names the system one).

One browser for the whole session. Playwright's async API runs on an event loop of its own in a
thread (`Browser`); the tests run on pytest-aiohttp's loop beside the app under test, and reach
the browser through `Remote` wrappers whose async methods are awaited across the two loops, so a
test reads like Playwright's own async API: `await page.goto(url)`, `await page.fill(...)`.
Every touch of a Playwright object, a plain method or attribute as much as an async one, runs on
the browser's thread: Playwright's connection is not thread-safe, and a plain method may talk to
the driver (`page.on("console", ...)` subscribes to the event: called from the test's thread, it
wrote the message there, and the driver's answer could be read on the browser's thread before
the call was registered, "Cannot find command to respond").

Screenshots of every test go to var/screenshots/browser/ (printed at the end of the run). Without
/usr/bin/chromium every test here is skipped and the run's summary says so (tests/conftest.py)."""

from __future__ import annotations

import asyncio
import inspect
import re
import shutil
import threading
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ledger import analytics, orders, registrations
from ledger.pricing import LineRequest
from ledger.users import User
from tests.conftest import CHROMIUM, SCREENSHOTS, eventually
from tests.fakegraph import FakeGraph, body_text
from tests.web.conftest import town  # noqa: F401 - the fixture
from tests.web.town import RAM, SITA, Town

# What the brief asks of a headless Chromium here: no sandbox (containers), no GPU, nothing
# fetched from the network behind the test's back.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
TIMEOUT_MS = 10_000
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


class Browser:
    """Chromium, driven by Playwright's async API on its own loop in its own thread."""

    def __init__(self) -> None:
        from playwright.async_api import async_playwright

        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="browser",
                                        daemon=True)
        self._thread.start()
        self._playwright = self.wait(async_playwright().start())
        self._browser = self.wait(self._playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS))

    def submit(self, coro: Coroutine[Any, Any, Any]) -> Future[Any]:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def wait(self, coro: Coroutine[Any, Any, Any]) -> Any:
        """Run `coro` on the browser's loop and block until it is done (outside any loop)."""
        return self.submit(coro).result(timeout=60)

    async def run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        """Run `coro` on the browser's loop; the caller's loop goes on serving the app."""
        return self.wrap(await asyncio.wrap_future(self.submit(coro)))

    def call(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call a plain (not async) `func` on the browser's thread and wait for it. It never
        waits on the app, so blocking the caller's loop for it is short and cannot deadlock."""
        if threading.current_thread() is self._thread:
            return self.wrap(func(*args, **kwargs))
        done: Future[Any] = Future()

        def go() -> None:
            try:
                done.set_result(func(*args, **kwargs))
            except BaseException as exc:  # noqa: BLE001 - handed to the caller as it is
                done.set_exception(exc)

        self.loop.call_soon_threadsafe(go)
        return self.wrap(done.result(timeout=60))

    def wrap(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.wrap(v) for v in value]
        if type(value).__module__.startswith("playwright."):
            return Remote(self, value)
        return value

    async def page(self, viewport: dict[str, int], locale: str = "en-US") -> Remote:
        """A page in a fresh context (no cookies) of the given size."""

        async def make() -> Any:
            context = await self._browser.new_context(viewport=viewport, locale=locale)
            context.set_default_timeout(TIMEOUT_MS)
            return await context.new_page()

        page: Remote = await self.run(make())
        return page

    async def close_context(self, page: Remote) -> None:
        async def close() -> None:
            await page.target.context.close()

        await self.run(close())

    def close(self) -> None:
        self.wait(self._browser.close())
        self.wait(self._playwright.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()


class Remote:
    """A Playwright object living on the browser's loop: its async methods return awaitables
    for the caller's loop; everything it hands back is wrapped the same way."""

    def __init__(self, browser: Browser, target: Any) -> None:
        self._browser = browser
        self.target = target

    def __getattr__(self, name: str) -> Any:
        value = self._browser.call(getattr, self.target, name)  # a property may do work too
        if not callable(value):
            return value

        def call(*args: Any, **kwargs: Any) -> Any:
            if inspect.iscoroutinefunction(value):
                async def on_browser_loop() -> Any:  # the coroutine is made there, too
                    return await value(*args, **kwargs)

                return self._browser.run(on_browser_loop())
            return self._browser.call(value, *args, **kwargs)

        return call


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: the browser tests did not run")
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    SCREENSHOTS.mkdir(parents=True)
    chromium = Browser()
    yield chromium
    chromium.close()


class Pages:
    """Pages of the app under test, each in its own context, and the screenshots they leave."""

    def __init__(self, browser: Browser, base_url: str, test_name: str) -> None:
        self.browser = browser
        self.base_url = base_url.rstrip("/")
        self._name = re.sub(r"[^a-z0-9]+", "-", test_name.lower()).strip("-")[:80]
        self._opened: list[Remote] = []
        self._shots = 0

    def url(self, path: str) -> str:
        return self.base_url + path

    async def open(self, viewport: dict[str, int] = DESKTOP) -> Remote:
        page = await self.browser.page(viewport)
        self._opened.append(page)
        return page

    async def shot(self, page: Remote, what: str) -> Path:
        """A full-page screenshot, kept under var/screenshots/browser/."""
        self._shots += 1
        what = re.sub(r"[^A-Za-z0-9+-]+", "-", what).strip("-")
        path = SCREENSHOTS / f"{self._name}-{self._shots:02d}-{what}.png"
        await page.screenshot(path=str(path), full_page=True)
        return path

    async def close(self) -> None:
        for page in self._opened:
            await self.browser.close_context(page)


@pytest.fixture
async def pages(browser: Browser, client, request) -> AsyncIterator[Pages]:  # type: ignore[no-untyped-def]
    """The app under test (with its workers, on the fake Graph API) on a real port."""
    opened = Pages(browser, str(client.make_url("/")), request.node.name)
    yield opened
    await opened.close()


# The sign-in code: as text in the chat window (locales/*/messages/signin_code.j2), else the
# sign-in template with the code its one parameter. Other messages carry six-digit numbers too
# (order numbers), and may arrive while someone signs in.
_SIGNIN_TEXT = re.compile(r"(?:sign-in code is|साइन-इन कोड) (\d{6})\b")
_CODE = re.compile(r"\d{6}")


def _sign_in_code(sent: dict[str, Any]) -> str | None:
    if sent.get("type") == "template":
        if sent["template"]["name"] != "khaacho_signin_code":
            return None
        text = body_text(sent)
        return text if _CODE.fullmatch(text) else None
    found = _SIGNIN_TEXT.search(body_text(sent))
    return found.group(1) if found else None


def sign_in_codes(graph: FakeGraph, phone: str) -> list[str]:
    """The sign-in codes the fake Graph API accepted for `phone`, oldest first."""
    wa_id = phone.lstrip("+")
    return [code for sent in graph.sent if sent.get("to") == wa_id
            for code in [_sign_in_code(sent)] if code]


async def sign_in(pages: Pages, page: Remote, graph: FakeGraph, phone: str, *,
                  next_path: str = "/app") -> None:
    """Sign in on the page with the code the app sent to `phone` (read from the fake Graph API,
    as the person would read it on WhatsApp)."""
    before = len(sign_in_codes(graph, phone))
    await page.goto(pages.url(f"/signin?next={next_path}"))
    await page.fill("#phone", phone)
    await page.click("form[action='/signin'] button[type=submit]")
    await page.wait_for_url(re.compile(r".*/signin/code.*"))
    await eventually(lambda: len(sign_in_codes(graph, phone)) > before)
    code = sign_in_codes(graph, phone)[-1]
    await page.fill("#code", code)
    await page.click("form[action='/signin/code'] button[type=submit]")
    await page.wait_for_url(re.compile(re.escape(pages.url(next_path)) + r"(\?.*)?$"))


def watch(page: Remote) -> list[str]:
    """What goes wrong on `page` from now on: script errors, console errors (a CSP refusal, a
    missing file) and responses of 400 or more."""
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"{m.text} ({m.location['url']})")
            if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}")
            if r.status >= 400 else None)
    return problems


async def overflow(page: Remote) -> dict[str, Any]:
    """How wide the document is against the viewport, and the widest elements sticking out."""
    found: dict[str, Any] = await page.evaluate("""() => {
        const width = document.documentElement.clientWidth;
        const out = [];
        for (const el of document.querySelectorAll('body *')) {
            const box = el.getBoundingClientRect();
            if (box.right > width + 1 && getComputedStyle(el).position !== 'fixed') {
                let inScroll = false;
                for (let p = el.parentElement; p; p = p.parentElement) {
                    const s = getComputedStyle(p);
                    if (['auto', 'scroll', 'hidden'].includes(s.overflowX)) {
                        inScroll = true; break;
                    }
                }
                if (!inScroll) {
                    out.push(el.tagName.toLowerCase() + (el.className ? '.' + el.className : '')
                             + ' ' + Math.round(box.right));
                }
            }
        }
        return {scroll: document.documentElement.scrollWidth, width: width, out: out.slice(0, 5)};
    }""")
    return found


@dataclass(frozen=True)
class Lived:
    """The demo town after some trade: what the browser tests look at."""

    town: Town
    waiting: User          # a shop's registration waiting for staff
    delivered: int         # orders delivered yesterday (in the analytics)


ADMIN = "+9779800000001"
KALE = "+9779840000001"  # a shop whose registration waits (not one of the demo's people)


@pytest.fixture
async def lived(town: Town) -> Lived:  # noqa: F811 - tests.web.conftest's fixture
    """The demo town with a registration waiting and, yesterday (Nepal noon), three orders of
    rice placed, accepted and delivered by their vendors; the analytics refreshed."""
    at = datetime.now(UTC).replace(hour=6, minute=15, second=0, microsecond=0) - timedelta(days=1)
    delivered = 0
    async with town.pool.acquire() as conn:
        waiting = await registrations.first_contact(conn, wa_id=KALE.lstrip("+"),
                                                    wa_user_id=None, profile_name="Kale",
                                                    language="en")
        for field, value in (("name", "Kale"), ("shop", "Kale Store"), ("area", "Chhinchu")):
            await registrations.answer(conn, waiting.id, field, value)  # type: ignore[arg-type]
        await registrations.submit(conn, waiting.id)
        for phone, kg in ((RAM, 25), (SITA, 50), (RAM, 10)):
            retailer = await town.user(phone)
            draft = await orders.create_draft(conn, retailer,
                                              [LineRequest("RICE-MANSULI", kg * 1000, "kg")])
            done = await orders.confirm(conn, draft.id, retailer, now=at)
            vendor = await town.vendor_of(done.order)
            await orders.accept(conn, draft.id, vendor, now=at + timedelta(minutes=20))
            await orders.deliver(conn, draft.id, vendor, now=at + timedelta(hours=3))
            delivered += 1
        await analytics.refresh(conn)
    await town.world.settle()
    return Lived(town, waiting, delivered)
