"""Every page under /app and every GET of the API at a month and at a year of the demo town,
p50/p95 each, and how much each grew with the history.

For each size (`--days`, default 30 and 365) a scratch database, owned and migrated by the owner
role with the app's role granted as in production, gets the synthetic town of `ledger.synthetic`
(`khaacho demo --town`, without its messages): 1,500 retailers, 300 vendors, each shop buying
from 3 vendors, `--scale` x 10,000 orders a day for that many days with their lifecycle,
entries, payments (a delivered bill is paid 3-42 days later, or never by 3% of them, so a few
weeks' bills are open and some overdue) and stock; `khaacho check` passes on it. Every twentieth
account has a payment claim waiting.
Then `analytics.refresh(full=True)`, as the server's schedule would have kept it.

The real app (`bot.app.create_app`, HTTP only: no workers) serves that database as the app's
role on a 127.0.0.1 port, in this process. An admin, the busiest vendor and the shop that vendor
bills most get a web session and an API token from `ledger.auth` directly. Every GET page under
/app (from the router) and every GET endpoint in the API registry (from `web.api.API`) is asked
`--repeat` times by each of those three roles it lets in (a 403/404 for a role means "not
theirs" and that role is left out), `--concurrency` requests at a time, path parameters filled
with that shop, vendor, one of their orders and a SKU the vendor stocks; query parameters are the
defaults (a statement: from the first entry to today). POSTs and PUTs are not measured here
(their rights and outcomes are the API tests'); they are listed as such. The API's rate limit is
raised for the run (API_RATE_PER_MINUTE=100000) so it measures the work, not the limiter. The
API's statement, by default from the shop's first entry, is also asked for its last 30 days: the
default's lines grow with the history by design, the fixed period's must not.

Printed: p50/p95 per endpoint and role (and its first, unmeasured ask: a statement PDF asked
again the same day comes from bot.statement_doc's cache of drawn files, the first is drawn),
the slowest, requests per second over the whole walk and its ratio to `pgbench -N` (1 client,
5 s) on the same server in the same run; then each one's p95 at the last size over its p95 at
the first. Goals: p95 < 200 ms for every one, and a year's p95 within 1.5 x a month's (README
"Benchmarks").

    python -m bench.web_bench [--scale 0.1] [--days 30 365] [--repeat 20] [--concurrency 4]
    (--scale 1: the seed scale's full year, 3.65 M orders)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import aiohttp
import asyncpg
from aiohttp import web
from pydantic import SecretStr

from bench.analytics_bench import _pct, _pgbench
from bench.scratch import role_database, server_url
from bot.app import create_app
from bot.settings import Settings
from ledger import analytics, auth, db, synthetic, users
from locales.formats import NEPAL_TIME
from web.api.registry import API, PREFIX  # every endpoint module registered (bot.app mounts web)
from web.session import SESSION_COOKIE

SEED_ORDERS_PER_DAY = 10_000
ROLES = ("ADMIN", "VENDOR", "RETAILER")
GOAL_MS = 200.0
GROWTH_GOAL = 1.5  # a year's p95 over a month's
FIXED_DAYS = 30  # the API statement's fixed period, the same at every size
_PARAM = re.compile(r"\{(\w+)(?::([^{}]*))?\}")


@dataclass(frozen=True)
class Town:
    """Who the walk signs in as, and the path parameters it fills in."""

    admin: users.User
    vendor: users.User
    retailer: users.User
    number: str  # an order between them
    sku: str     # one the vendor stocks
    today: date  # the town's last day is the day before


    def queries(self, path: str, role: str) -> list[str]:
        """The query strings asked of `path` by `role` (default: none, the page's defaults)."""
        other = (f"retailer={self.retailer.id}" if role == "VENDOR"
                 else f"vendor={self.vendor.id}")
        if path in ("/prices", "/stock") and role == "ADMIN":
            return [f"?vendor_id={self.vendor.id}"]
        if path == "/app/statement" and role in ("VENDOR", "RETAILER"):
            return [f"?{other}"]
        if path == "/app/statement/download" and role in ("VENDOR", "RETAILER"):
            return [f"?{other}&format=pdf", f"?{other}&format=csv"]
        if path == "/retailers/{phone}/statement":
            since = self.today - timedelta(days=FIXED_DAYS - 1)
            return ["", f"?from={since.isoformat()}"]
        return [""]

    def name(self, asked: str) -> str:
        """What was asked with this town's people, order and product named by their kind
        ("GET /api/v1/orders/{number} as VENDOR"): the same at every size of the town."""
        for name, value in (("number", self.number), ("phone", self.retailer.phone or ""),
                            ("sku", self.sku)):
            asked = asked.replace(value, "{" + name + "}")
        for name, user in (("vendor", self.vendor), ("retailer", self.retailer)):
            asked = re.sub(rf"=({user.id})(?=[& ])", "={" + name + "}", asked)
        return asked

    def values(self) -> dict[str, list[str]]:
        """Each path parameter's values (a new name needs a line here)."""
        phone = self.retailer.phone or ""
        return {"phone": [phone], "ref": [phone], "number": [self.number], "sku": [self.sku],
                "name": ["orders"], "fmt": ["pdf", "csv"]}


@dataclass
class Timing:
    key: str   # "GET /api/v1/orders/{number} as VENDOR" (Town.name)
    path: str  # what it asks, as declared: "/api/v1/orders/{number}"
    statuses: dict[int, int] = field(default_factory=dict)
    ms: list[float] = field(default_factory=list)
    first_ms: float = 0.0  # the first ask, not counted in ms: what a cache had not seen yet

    @property
    def ok(self) -> bool:
        return all(200 <= s < 300 for s in self.statuses)


# ---------------------------------------------------------------------------------- the data


async def _claims(conn: asyncpg.Connection) -> None:
    """Every twentieth account has a shop's payment claim waiting for its vendor."""
    await conn.execute(
        """INSERT INTO payment_claims (retailer_id, vendor_id, amount_paisa, method, request_key)
           SELECT retailer_id, vendor_id, 50000, 'esewa', 'bench:claim:' || id
           FROM ledger_accounts WHERE id % 20 = 0""")


async def _town(conn: asyncpg.Connection) -> Town:
    pair = await conn.fetchrow(
        """SELECT retailer_id, vendor_id FROM orders WHERE vendor_id IS NOT NULL
           GROUP BY retailer_id, vendor_id ORDER BY count(*) DESC, retailer_id LIMIT 1""")
    assert pair is not None, "no orders loaded"
    busiest = await conn.fetchval(
        "SELECT vendor_id FROM orders WHERE vendor_id IS NOT NULL GROUP BY 1 "
        "ORDER BY count(*) DESC LIMIT 1")
    retailer_id, vendor_id = pair["retailer_id"], pair["vendor_id"]
    if busiest != vendor_id:  # the busiest vendor, and the shop it bills most
        retailer_id = await conn.fetchval(
            "SELECT retailer_id FROM orders WHERE vendor_id = $1 GROUP BY 1 "
            "ORDER BY count(*) DESC, retailer_id LIMIT 1", busiest)
        vendor_id = busiest
    number = await conn.fetchval(
        "SELECT number FROM orders WHERE retailer_id = $1 AND vendor_id = $2 "
        "ORDER BY id DESC LIMIT 1", retailer_id, vendor_id)
    sku = await conn.fetchval(
        "SELECT sku FROM vendor_products WHERE vendor_id = $1 ORDER BY sku LIMIT 1", vendor_id)
    await conn.execute("UPDATE users SET language = 'en' WHERE id = ANY($1::bigint[])",
                       [1, vendor_id, retailer_id])
    admin, vendor, retailer = [await users.by_id(conn, i) for i in (1, vendor_id, retailer_id)]
    assert admin and vendor and retailer
    return Town(admin, vendor, retailer, number, sku, datetime.now(NEPAL_TIME).date())


@asynccontextmanager
async def synthetic_town(
    server: str, retailers: int, vendors: int, per_day: int, days: int,
) -> AsyncIterator[tuple[str, str, Town, dict[str, Any]]]:
    """A scratch database on `server` (a superuser's URL) with the synthetic year: yields (app
    role URL, superuser URL, who, figures of the load); dropped afterwards."""
    async with role_database(server, "web_bench") as database:
        conn = await db.connect(database.superuser)
        try:
            t0 = time.perf_counter()
            town = await synthetic.load(conn, retailers=retailers, vendors=vendors,
                                        per_day=per_day, days=days, messages=False)
            await _claims(conn)
            loaded = time.perf_counter() - t0
            figures: dict[str, Any] = {
                t: town.counts[t] for t in ("orders", "order_lines", "ledger_entries", "payments")}
            figures["load_s"] = round(loaded, 1)
            t0 = time.perf_counter()
            await analytics.refresh(conn, full=True)
            await conn.execute("ANALYZE")
            figures["analytics_refresh_s"] = round(time.perf_counter() - t0, 1)
            who = await _town(conn)
        finally:
            await conn.close()
        yield database.app, database.superuser, who, figures


# ---------------------------------------------------------------------------------- the walk


def bench_settings(app_url: str) -> Settings:
    return Settings(
        _env_file=None,
        database_url=app_url,
        whatsapp_verify_token=SecretStr("bench-verify-token"),
        whatsapp_app_secret=SecretStr("bench-app-secret"),
        api_rate_per_minute=100_000,
        reminders_enabled=False,
    )


def api_gets() -> list[tuple[str, tuple[str, ...]]]:
    """(path under /api/v1, roles it lets in) for every GET in the registry."""
    return [(e.path, tuple(e.roles) if e.roles is not None else ROLES)
            for e in API.endpoints if e.method == "GET"]


def unmeasured() -> list[str]:
    """The registry's and the pages' writes: not measured by this walk."""
    return [f"{e.method} {PREFIX}{e.path}" for e in API.endpoints if e.method != "GET"]


def page_gets(app: web.Application) -> list[str]:
    found = []
    for resource in app.router.resources():
        path = resource.canonical
        if path != "/app" and not path.startswith("/app/"):
            continue
        if any(route.method == "GET" for route in resource):
            found.append(path)
    return sorted(found)


def fill(path: str, values: dict[str, list[str]]) -> list[str]:
    """Every URL for `path`, each `{name}` once with each of its values."""
    urls = [""]
    at = 0
    for match in _PARAM.finditer(path):
        name = match.group(1)
        if name not in values:
            raise KeyError(f"no sample value for the path parameter {{{name}}}: add it")
        options = values[name]
        urls = [u + path[at:match.start()] + o for u in urls for o in options]
        at = match.end()
    return [u + path[at:] for u in urls]


async def _one(session: aiohttp.ClientSession, url: str, headers: dict[str, str]
               ) -> tuple[int, float]:
    t = time.perf_counter()
    async with session.get(url, headers=headers, allow_redirects=False) as got:
        await got.read()
        return got.status, (time.perf_counter() - t) * 1000


async def walk(app_url: str, town: Town, repeat: int, concurrency: int) -> dict[str, Any]:
    """Serve the app on 127.0.0.1 and ask every GET page and endpoint; the timings."""
    app = create_app(bench_settings(app_url), workers=False)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        return await _walk(app, f"http://127.0.0.1:{port}", app_url, town, repeat, concurrency)
    finally:
        await runner.cleanup()


async def _walk(app: web.Application, base: str, app_url: str, town: Town, repeat: int,
                concurrency: int) -> dict[str, Any]:
    people = {"ADMIN": town.admin, "VENDOR": town.vendor, "RETAILER": town.retailer}
    conn = await db.connect(app_url)
    try:
        web_auth, api_auth = {}, {}
        for role, user in people.items():
            issued = await auth.issue(conn, user, "web", timedelta(hours=4))
            web_auth[role] = {"Cookie": f"{SESSION_COOKIE}={issued.token}"}
            issued = await auth.issue(conn, user, "api", timedelta(hours=4))
            api_auth[role] = {"Authorization": f"Bearer {issued.token}"}
    finally:
        await conn.close()
    values = town.values()
    targets: list[tuple[str, str, str, dict[str, str], bool]] = []  # key, path, url, headers, page?
    for path, allowed in api_gets():
        for url in fill(path, values):
            for role in (r for r in ROLES if r in allowed):
                for query in town.queries(path, role):
                    targets.append((town.name(f"GET {PREFIX}{url}{query} as {role}"),
                                    PREFIX + path,
                                    base + PREFIX + url + query, api_auth[role], False))
    for path in page_gets(app):
        for url in fill(path, values):
            for role in ROLES:
                for query in town.queries(path, role):
                    targets.append((town.name(f"GET {url}{query} as {role}"), path,
                                    base + url + query, web_auth[role], True))
    timings: list[Timing] = []
    not_theirs: list[str] = []
    started = time.perf_counter()
    requests = 0
    limit = asyncio.Semaphore(concurrency)
    async with aiohttp.ClientSession() as session:
        for key, path, url, headers, is_page in targets:
            status, first = await _one(session, url, headers)  # warm, and whose it is
            if is_page and status in (403, 404):
                not_theirs.append(key)
                continue
            timing = Timing(key, path, first_ms=first)

            async def ask(url: str = url, headers: dict[str, str] = headers,
                          timing: Timing = timing) -> None:
                async with limit:
                    status, ms = await _one(session, url, headers)
                timing.statuses[status] = timing.statuses.get(status, 0) + 1
                timing.ms.append(ms)

            await asyncio.gather(*(ask() for _ in range(repeat)))
            requests += repeat + 1
            timings.append(timing)
    spent = time.perf_counter() - started
    return {"timings": timings, "not_theirs": not_theirs, "requests": requests,
            "seconds": spent, "gets": [PREFIX + p for p, _ in api_gets()] + page_gets(app)}


# ---------------------------------------------------------------------------------- the run


async def one_size(*, server: str, scale: float, retailers: int, vendors: int, days: int,
                   repeat: int, concurrency: int, pgbench: bool = True) -> dict[str, Any]:
    """Load `days` of the town, walk, and the figures (`server`: a superuser's URL)."""
    per_day = max(1, round(SEED_ORDERS_PER_DAY * scale))
    town = synthetic_town(server, retailers, vendors, per_day, days)
    async with town as (app_url, superuser, who, loaded):
        walked = await walk(app_url, who, repeat, concurrency)
        tps = _pgbench(superuser) if pgbench else None
    timings: list[Timing] = walked["timings"]
    rows: dict[str, dict[str, Any]] = {t.key: {"p50_ms": round(statistics.median(t.ms), 1),
                    "p95_ms": round(_pct(t.ms, 0.95), 1), "first_ms": round(t.first_ms, 1),
                    "statuses": {str(s): n for s, n in sorted(t.statuses.items())}}
            for t in timings}
    rps = walked["requests"] / walked["seconds"]
    everything = [ms for t in timings for ms in t.ms]
    return {
        "days": days, "orders_per_day": per_day, **loaded,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "endpoints": rows,
        "failed": sorted(t.key for t in timings if not t.ok),
        "not_theirs": walked["not_theirs"],
        "gets": walked["gets"],
        "answered": sorted({t.path for t in timings if t.ok}),
        "requests": walked["requests"], "requests_per_s": round(rps, 1),
        "p50_ms_all": round(statistics.median(everything), 1) if everything else None,
        "p95_ms_all": round(_pct(everything, 0.95), 1) if everything else None,
        "worst_p95_ms": max((r["p95_ms"] for r in rows.values()), default=None),
        "over_goal": sorted(k for k, r in rows.items() if r["p95_ms"] >= GOAL_MS),
        "pgbench_N_tps_1_client": tps,
        "requests_per_pgbench_tps": round(rps / tps, 3) if tps else None,
    }


async def run(*, server: str | None = None, scale: float, retailers: int, vendors: int,
              days: Sequence[int] = (30, 365), repeat: int, concurrency: int,
              pgbench: bool = True) -> dict[str, Any]:
    """Every size in `days`, one after the other on its own database; each page's and
    endpoint's p95 at the last size over its p95 at the first (`server`: a superuser's URL;
    default BENCH_DATABASE_URL, TEST_DATABASE_URL or the local test server)."""
    sizes = []
    for d in days:
        print(f"  loading and walking {d} days ...", flush=True)
        sizes.append(await one_size(server=server or server_url(), scale=scale,
                                    retailers=retailers, vendors=vendors, days=d,
                                    repeat=repeat, concurrency=concurrency, pgbench=pgbench))
    first, last = sizes[0]["endpoints"], sizes[-1]["endpoints"]
    growth = {key: round(last[key]["p95_ms"] / max(0.1, first[key]["p95_ms"]), 2)
              for key in first if key in last}
    return {
        "scale": scale, "retailers": retailers, "vendors": vendors,
        "repeat": repeat, "concurrency": concurrency, "sizes": sizes,
        "not_measured": unmeasured(), "growth_p95": growth,
        "grew_past_goal": sorted(k for k, g in growth.items() if g > GROWTH_GOAL),
    }


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.web_bench")
    parser.add_argument("--scale", type=float, default=0.1,
                        help="orders per day as a share of the seed scale's 10,000 (1: all)")
    parser.add_argument("--retailers", type=int, default=1500)
    parser.add_argument("--vendors", type=int, default=300)
    parser.add_argument("--days", type=int, nargs="+", default=[30, 365],
                        help="the sizes, in days of history, walked one after the other")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args(argv)
    figures = asyncio.run(run(scale=args.scale, retailers=args.retailers, vendors=args.vendors,
                              days=args.days, repeat=args.repeat,
                              concurrency=args.concurrency))
    sizes = figures["sizes"]
    print(f"web pages and API at {', '.join(str(s['days']) for s in sizes)} days of a synthetic "
          f"town (scale {args.scale}: {sizes[0]['orders_per_day']} orders a day)")
    for size in sizes:
        print(f"  {size['days']} days:")
        for key, value in size.items():
            if key not in ("endpoints", "gets", "answered"):
                print(f"    {key:<28} {value}")
        slowest = sorted(size["endpoints"].items(), key=lambda kv: -kv[1]["p95_ms"])[:5]
        print("    slowest: " + "; ".join(f"{k} {r['p95_ms']} ms" for k, r in slowest))
    header = "".join(f"{str(s['days']) + ' d p50':>12}{str(s['days']) + ' d p95':>12}"
                     for s in sizes)
    print(f"  {'page or endpoint, as whom':<72}{header}{'growth':>9}")
    for key, growth in figures["growth_p95"].items():
        cells = "".join(f"{s['endpoints'][key]['p50_ms']:>9} ms"
                        f"{s['endpoints'][key]['p95_ms']:>9} ms" for s in sizes)
        mark = "  GREW" if growth > GROWTH_GOAL else ""
        mark += "  OVER" if sizes[-1]["endpoints"][key]["p95_ms"] >= GOAL_MS else ""
        print(f"  {key:<72}{cells}{growth:>8}x{mark}")
    print(f"  grew past {GROWTH_GOAL}x: {figures['grew_past_goal'] or 'none'}")
    return figures


if __name__ == "__main__":
    main()
