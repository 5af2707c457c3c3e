"""A town's day, compressed, through a real `khaacho serve` (one process, two, and the webhook's
process beside the workers') and the fake Graph API, beside `pgbench -N -M prepared -c 8` on the
same server in the same run.

Actors talk to the bot the way people do, each waiting for the bot's answer before its next
message: retailers order in their own words (the shared order corpus, both scripts), pick among
the products the bot asks about, sometimes edit, then confirm; vendors accept the offers they get,
dispatch, deliver and record a payment; retailers ask their dues, status and history; new numbers
register (name, shop, area). Every message is a signed webhook POST; replies are read from what
the fake Graph API received.

Three measurements per layout:
- throughput: messages are offered on a clock (a token every 1/rate s goes to the next actor ready
  to speak), rate stepped up by half each step; a step is sustained when what was offered was
  answered and the backlog (tokens no actor could use yet + messages without an answer) stayed
  small. The highest sustained rate is the end-to-end figure.
- latency: the same, open loop at half that rate; p50/p95/p99 from the webhook POST to the first
  reply reaching the fake Graph API (the reply's outbox row names the inbound message).
- acknowledgements: a burst of order messages from every retailer, 16 POSTs at a time.
Run `python -m bench.day_bench [--full] [--layouts 1,2,web+workers] [--profile DIR]`.
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import itertools
import json
import os
import random
import re
import resource
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
from aiohttp import web
from aiohttp.test_utils import TestServer

from bench.ledger_bench import PGBENCH
from bench.scratch import require_consistent_ledger, scratch_database
from bot import demo
from bot.serve import new_event_loop
from catalog.csvload import load_catalog
from ledger import db, stock, users
from tests.conftest import APP_SECRET, sign
from tests.dialogs.conftest import _choices, _payload
from tests.fakegraph import PHONE_NUMBER_ID, TOKEN, FakeGraph

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "catalog" / "data" / "orders-dev.jsonl"
QUERIES = ("baki kati cha?", "status", "history", "बाँकी कति छ?", "mero order kaha pugyo",
           "dues", "अर्डर इतिहास")
EDITS = ("nun 10 packet thap", "चिनी १ बोरा थप", "add salt 5 packet")
_ANSWER_SECONDS = 20.0  # an actor that got no answer in this long gives up on that message


class TimedGraph(FakeGraph):
    """The fake Graph API, noting when each reply arrived and waking the phone it is for."""

    def __init__(self) -> None:
        super().__init__()
        self.arrived: dict[str, float] = {}  # outbox reference -> when it reached us
        self.phones: dict[str, Phone] = {}
        self.arrival = asyncio.Event()  # set (and replaced) on every reply, whoever it is for

    async def messages(self, request: web.Request) -> web.StreamResponse:
        at = time.perf_counter()
        before = len(self.sent)
        response = await super().messages(request)
        if len(self.sent) > before:
            message = self.sent[-1]
            reference = message.get("biz_opaque_callback_data")
            if reference:
                self.arrived.setdefault(reference, at)
            phone = self.phones.get(message.get("to", ""))
            if phone is not None:
                phone.received(message, at)
            self.arrival.set()
            self.arrival = asyncio.Event()
        return response


@dataclass
class Phone:
    wa_id: str
    inbox: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    wake: asyncio.Event = field(default_factory=asyncio.Event)

    def received(self, message: dict[str, Any], at: float) -> None:
        self.inbox.append((at, message))
        self.wake.set()


@dataclass
class Day:
    """One run against one server: the clock's tokens, what was posted and when."""

    session: aiohttp.ClientSession
    pool: asyncpg.Pool
    url: str
    graph: TimedGraph
    waiters: list[tuple[int, int, asyncio.Future[None]]] = field(default_factory=list)
    spare: int = 0  # tokens the clock gave out that no actor was ready to use
    posted: dict[str, float] = field(default_factory=dict)  # wamid -> when POSTed
    answered: int = 0
    unanswered: list[str] = field(default_factory=list)  # wamids given up on after a timeout
    waiting: int = 0  # posted, no answer yet
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    tag: str = "A"

    async def post(self, phone: Phone, message: dict[str, Any]) -> str:
        wamid = f"wamid.DAY{self.tag}{next(self.ids)}"
        body = json.dumps(_payload(phone.wa_id, wamid, message)).encode()
        self.posted[wamid] = time.perf_counter()
        async with self.session.post(self.url, data=body, headers={
                "X-Hub-Signature-256": sign(body), "Content-Type": "application/json"}) as r:
            assert r.status == 200, await r.text()
        return wamid

    def tick(self) -> None:
        """The clock's token goes to the first actor waiting to speak, else it is kept."""
        while self.waiters:
            _, _, waiter = heapq.heappop(self.waiters)
            if not waiter.done():
                waiter.set_result(None)
                return
        self.spare += 1

    async def turn(self, urgent: bool) -> None:
        """Wait for a token. Someone answering the bot (urgent) goes before someone starting
        something new, as a person in the middle of an order answers at once."""
        if self.spare:
            self.spare -= 1
            return
        waiter = asyncio.get_running_loop().create_future()
        heapq.heappush(self.waiters, (0 if urgent else 1, next(self.ids), waiter))
        await waiter

    async def speak(self, phone: Phone, message: dict[str, Any],
                    urgent: bool = True) -> list[dict[str, Any]]:
        """On the clock's next token: post, wait for every reply to it; return those to this
        phone.

        Replies to one message are written in the transaction that handles it, and one always
        goes to its sender: once a reply to it has reached the phone, the outbox names them all
        (those to other people too, such as the shop whose order a vendor accepted)."""
        await self.turn(urgent)
        self.waiting += 1
        try:
            wamid = await self.post(phone, message)
            deadline = time.perf_counter() + _ANSWER_SECONDS
            looked = [len(phone.inbox)]  # the phone's inbox when the outbox was last read

            async def replies() -> set[str] | None:
                if len(phone.inbox) == looked[0]:
                    return None  # nothing new on this phone: the message is not handled yet
                looked[0] = len(phone.inbox)
                rows = await self.pool.fetch(
                    """SELECT o.id, o.recipient FROM outbox o JOIN inbound_messages m
                         ON m.id = o.inbound_id WHERE m.wamid = $1""", wamid)
                mine = {f"outbox:{r['id']}" for r in rows if r["recipient"] == phone.wa_id}
                if not mine & self.graph.arrived.keys():
                    return None  # what came was something else (a vendor's new offer)
                return {f"outbox:{r['id']}" for r in rows}

            references = await self._until(replies, deadline)
            known = references or set()

            async def all_arrived() -> set[str] | None:
                return known if known <= self.graph.arrived.keys() else None

            if references is None or await self._until(all_arrived, deadline) is None:
                self.unanswered.append(wamid)
                return []
            self.answered += 1
        finally:
            self.waiting -= 1
        return [m for _, m in phone.inbox if m.get("biz_opaque_callback_data") in known]

    async def _until(self, check: Callable[[], Awaitable[set[str] | None]],
                     deadline: float) -> set[str] | None:
        """Check again after every reply to anyone, until the check finds it or time is up."""
        while True:
            arrival = self.graph.arrival  # taken before checking: an arrival during it counts
            if (found := await check()) is not None:
                return found
            left = deadline - time.perf_counter()
            if left <= 0:
                return None
            try:
                await asyncio.wait_for(arrival.wait(), left)
            except TimeoutError:
                return None

    async def say(self, phone: Phone, text: str, urgent: bool = True) -> list[dict[str, Any]]:
        return await self.speak(phone, {"type": "text", "text": {"body": text}}, urgent)

    async def tap(self, phone: Phone, choice: str) -> list[dict[str, Any]]:
        kind = "list_reply" if choice.startswith("product:pick:") else "button_reply"
        return await self.speak(phone, {"type": "interactive", "interactive": {
            "type": kind, kind: {"id": choice, "title": "ok"}}})


def _all_choices(replies: list[dict[str, Any]]) -> list[str]:
    return [c for m in replies for c in _choices(m)]


async def retailer(day: Day, phone: Phone, orders: list[str], chance: random.Random) -> None:
    """Order, answer the bot's questions, sometimes edit, confirm; now and then ask something."""
    while True:
        replies = await day.say(phone, chance.choice(orders), urgent=False)
        edited = False
        for _ in range(5):
            choices = _all_choices(replies)
            picks = [c for c in choices if c.startswith("product:pick:")]
            confirm = [c for c in choices if c.startswith("order:confirm:")]
            if picks:
                replies = await day.tap(phone, picks[0])
            elif confirm and not edited and chance.random() < 0.25:
                edited = True
                replies = await day.say(phone, chance.choice(EDITS))
            elif confirm:
                await day.tap(phone, confirm[-1])
                break
            else:
                break
        if chance.random() < 0.5:
            await day.say(phone, chance.choice(QUERIES), urgent=False)


async def vendor(day: Day, phone: Phone) -> None:
    """Accept each offer, dispatch, deliver, and record a payment against it."""
    done: set[str] = set()
    seen = 0
    todo: deque[str] = deque()
    while True:
        for _, message in phone.inbox[seen:]:
            for choice in _choices(message):
                base = choice.split("@")[0]
                if base.split(":")[1] in ("accept", "dispatch", "deliver") and base not in done:
                    done.add(base)
                    todo.append(choice)
        seen = len(phone.inbox)
        if not todo:
            phone.wake.clear()
            await phone.wake.wait()
            continue
        choice = todo.popleft()
        replies = await day.tap(phone, choice)
        if choice.startswith("order:deliver:"):
            number = choice.split(":")[2].split("@")[0]
            await day.say(phone, f"paid {number} 500")
        del replies


async def newcomer(day: Day, phone: Phone, chance: random.Random) -> None:
    """A shop nobody added yet registers: name, shop, area."""
    # Few, and each writes at once: behind the town's conversations they would never start.
    for text in ("namaste", f"Shyam {phone.wa_id[-4:]}", f"Shyam Kirana {phone.wa_id[-4:]}",
                 chance.choice(("Birendranagar", "वीरेन्द्रनगर", "Chhinchu"))):
        await day.say(phone, text)


@dataclass(frozen=True)
class Town:
    retailers: list[str]
    vendors: list[str]
    orders: list[str]


async def populate(url: str, retailers: int, vendors: int) -> Town:
    """The demo's people and vendors, more retailers and vendors, and stock nobody runs out of."""
    conn = await db.connect(url)
    try:
        await demo.load(conn)
        products = load_catalog()
        async with conn.transaction():
            for i in range(retailers):
                await users.upsert(conn, phone=f"+97798300{i:05d}", name=f"Retailer {i}",
                                   role="RETAILER", language="en" if i % 4 == 0 else "ne",
                                   shop_name=f"Pasal {i}", credit_limit_paisa=2_000_000_000)
            for i in range(vendors):
                await users.upsert(conn, phone=f"+97798400{i:05d}", name=f"Vendor {i}",
                                   role="VENDOR", shop_name=f"Wholesale {i}")
            for user_row in await conn.fetch("SELECT id, phone FROM users WHERE role = 'VENDOR'"):
                vendor_user = await users.by_phone(conn, user_row["phone"])
                assert vendor_user is not None
                for k, product in enumerate(products):
                    await stock.set_offer(
                        conn, vendor_user, product.sku,
                        price_paisa=max(1, product.price_paisa * (990 + (k * 7 + user_row["id"])
                                                                  % 30) // 1000),
                        stock_milli=10**11)
        retailer_phones = [r["phone"].lstrip("+") for r in await conn.fetch(
            "SELECT phone FROM users WHERE role = 'RETAILER' ORDER BY id")]
        vendor_phones = [r["phone"].lstrip("+") for r in await conn.fetch(
            "SELECT phone FROM users WHERE role = 'VENDOR' ORDER BY id")]
    finally:
        await conn.close()
    corpus = [json.loads(line) for line in CORPUS.read_text("utf-8").splitlines() if line]
    orders = [c["text"] for c in corpus if c["intent"] == "order"]
    return Town(retailer_phones, vendor_phones, orders)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _server_env(url: str, graph_base: str, port: int) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "WARNING", "PORT": str(port),
            "WHATSAPP_ACCESS_TOKEN": TOKEN, "WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID,
            "WHATSAPP_APP_SECRET": APP_SECRET, "WHATSAPP_VERIFY_TOKEN": "bench-verify",
            "WHATSAPP_API_BASE": graph_base, "SIMULATOR_ENABLED": "false",
            "OUTBOX_RATE_PER_SECOND": "1000", "WORKER_POLL_SECONDS": "0.5",
            # A day compressed into minutes: a vendor writes far more often than a person can.
            "INBOUND_SENDER_MAX_PER_WINDOW": "10000"}


async def _listening(url: str) -> int:
    """How many server processes listen for inbound messages: every one has started."""
    conn = await db.connect(url)
    try:
        count: int = await conn.fetchval(
            """SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
                 AND application_name = 'khaacho listens on khaacho_inbound'""")
        return count
    finally:
        await conn.close()


# How the server runs: one process; N processes that each do everything (`--workers N`); or
# one process for the webhook and pages beside one for the workers (`--role`), as a deployment
# that keeps acknowledgements away from the handling would.
LAYOUTS = {"1": (("all", 1),), "2": (("all", 2),), "web+workers": (("web", 1), ("workers", 1))}


async def start_server(url: str, graph_base: str, layout: str,
                       profile: Path | None) -> tuple[list[subprocess.Popen[bytes]], str]:
    """Start the layout's processes; the webhook's URL once all of them are ready."""
    processes: list[subprocess.Popen[bytes]] = []
    ports, listeners = [], 0
    for role, workers in LAYOUTS[layout]:
        port = _free_port()
        command = [sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1",
                   "--port", str(port), "--role", role,
                   *(["--workers", str(workers)] if workers > 1 else [])]
        if profile is not None:  # pyinstrument writes its report when the server ends on SIGINT
            command = [sys.executable, "-m", "pyinstrument", "-r", "json", "-o",
                       str(profile.with_name(f"{profile.stem}-{role}.json")),
                       # Every frame, however small: a message is many small steps.
                       "-p", "processor_options.filter_threshold=0", *command[1:]]
        # Popen, not asyncio's: stop_server must work from `finally` after the loop's errors.
        processes.append(subprocess.Popen(  # noqa: ASYNC220 - returns at once
            command, cwd=ROOT, env=_server_env(url, graph_base, port)))
        ports.append(port)
        listeners += workers if role != "web" else 0
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(600):
                if await _ready(session, ports) and await _listening(url) >= listeners:
                    return processes, f"http://127.0.0.1:{ports[0]}"
                if any(p.poll() is not None for p in processes):
                    raise RuntimeError("khaacho serve exited before it was ready")
                await asyncio.sleep(0.1)
        raise RuntimeError("khaacho serve did not become ready")
    except BaseException:
        stop_server(processes, profile is not None)
        raise


async def _ready(session: aiohttp.ClientSession, ports: list[int]) -> bool:
    for port in ports:
        try:
            async with session.get(f"http://127.0.0.1:{port}/readyz") as r:
                if r.status != 200:
                    return False
        except aiohttp.ClientError:
            return False
    return True


def stop_server(processes: list[subprocess.Popen[bytes]], profile: bool) -> None:
    for process in processes:
        process.send_signal(signal.SIGINT if profile else signal.SIGTERM)
    for process in processes:
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def _clock(day: Day, rate: float, seconds: float) -> None:
    """Open loop: a token every 1/rate seconds, whether or not anyone took the last one."""
    start = time.perf_counter()
    for i in range(int(rate * seconds)):
        wait = start + i / rate - time.perf_counter()
        if wait > 0:
            await asyncio.sleep(wait)
        day.tick()


def _backlog(day: Day) -> int:
    return day.spare + day.waiting


async def _drain(day: Day, within: float) -> None:
    """Take back unused tokens and wait for every posted message's answer."""
    day.spare = 0
    deadline = time.perf_counter() + within
    while day.waiting and time.perf_counter() < deadline:  # noqa: ASYNC110 - a count, no event
        await asyncio.sleep(0.05)


async def throughput(day: Day, start_rate: float, step_seconds: float,
                     max_rate: float) -> tuple[float, list[dict[str, Any]]]:
    """Step the offered rate up by half until a step leaves a growing backlog, then halve the
    gap between the last rate kept up with and the first one not, twice (steps of half made
    the figure jump by a third between runs: 32, 48 or 71 messages/s)."""
    best, rate, failed = 0.0, start_rate, 0.0
    steps: list[dict[str, Any]] = []
    while rate <= max_rate:
        sustained = await _step(day, rate, step_seconds, steps)
        if not sustained:
            failed = rate
            break
        best = rate
        rate *= 1.5
    for _ in range(2 if failed and best else 0):
        middle = (best + failed) / 2
        if await _step(day, middle, step_seconds, steps):
            best = middle
        else:
            failed = middle
    return round(best, 1), steps


async def _step(day: Day, rate: float, step_seconds: float, steps: list[dict[str, Any]]) -> bool:
    """Offer `rate` messages a second for `step_seconds`; was it kept up with?"""
    before = day.answered
    await _clock(day, rate, step_seconds)
    backlog = _backlog(day)
    # What was still waiting when the clock stopped: a rate that is kept up with leaves
    # no more than half a second's worth (what is in flight), one that is not, all the
    # arrivals it fell behind on.
    answered = day.answered - before
    ok = backlog <= max(4, rate * 0.5)
    steps.append({"offered_per_s": round(rate, 1), "answered": answered,
                  "backlog": backlog, "unanswered": day.waiting, "sustained": ok})
    await _drain(day, 30)
    return ok


async def latency(day: Day, pool_url: str, rate: float, seconds: float) -> dict[str, float]:
    """Open loop at `rate`: from POST to the first reply at the fake Graph API, per message."""
    first = len(day.posted)
    mark = time.perf_counter()
    await _clock(day, rate, seconds)
    await _drain(day, 30)
    wamids = [w for w, at in day.posted.items() if at >= mark]
    conn = await db.connect(pool_url)
    try:
        rows = await conn.fetch(
            """SELECT m.wamid, o.id FROM outbox o JOIN inbound_messages m ON m.id = o.inbound_id
               WHERE m.wamid = ANY($1::text[])""", wamids)
    finally:
        await conn.close()
    firsts: dict[str, float] = {}
    for row in rows:
        at = day.graph.arrived.get(f"outbox:{row['id']}")
        if at is not None:
            firsts[row["wamid"]] = min(firsts.get(row["wamid"], at), at)
    waits = sorted((at - day.posted[w]) * 1000 for w, at in firsts.items())
    del first
    if not waits:
        return {"messages": 0}
    return {"offered_per_s": round(rate, 1), "messages": len(wamids), "answered": len(waits),
            "p50_ms": round(statistics.median(waits), 1), "p95_ms": round(_pct(waits, .95), 1),
            "p99_ms": round(_pct(waits, .99), 1), "max_ms": round(waits[-1], 1)}


def _pct(ordered: list[float], share: float) -> float:
    return ordered[max(0, min(len(ordered) - 1, round(share * len(ordered)) - 1))]


async def acknowledgements(day: Day, town: Town, messages: int) -> dict[str, float]:
    """A burst of orders, 16 POSTs at a time, as fast as the webhook acknowledges them; then the
    time until every one has been answered."""
    chance = random.Random(7)
    phones = [day.graph.phones.setdefault(p, Phone(p)) for p in town.retailers]
    queue: deque[Phone] = deque(phones[i % len(phones)] for i in range(messages))
    marks = {p.wa_id: len(p.inbox) for p in phones}

    posted: list[str] = []

    async def post_all() -> None:
        while queue:
            phone = queue.popleft()
            posted.append(await day.post(
                phone, {"type": "text", "text": {"body": chance.choice(town.orders)}}))

    started = time.perf_counter()
    await asyncio.gather(*(post_all() for _ in range(16)))
    acked = time.perf_counter() - started
    # Handling that got in during the burst took CPU the acknowledgements waited for.
    handled_in_burst = await day.pool.fetchval(
        "SELECT count(*) FROM inbound_messages WHERE wamid = ANY($1) AND handled_at IS NOT NULL",
        posted)
    want = min(messages, len(phones))
    deadline = time.perf_counter() + 120
    while time.perf_counter() < deadline and sum(  # noqa: ASYNC110 - counting, no event
            len(p.inbox) > marks[p.wa_id] for p in phones) < want:
        await asyncio.sleep(0.05)
    # Each retailer's messages are answered in order: the last one to get any answer is a bound.
    return {"messages": messages, "acks_per_s": round(messages / acked, 1),
            "handled_during_burst": handled_in_burst,
            "first_answers_s": round(time.perf_counter() - started, 2)}


async def one_server(url: str, town: Town, graph: TimedGraph, graph_base: str, layout: str,
                     size: dict[str, float], profile: Path | None) -> dict[str, Any]:
    before = await _totals(url)
    # The server's processes (its children too, once waited for) count in RUSAGE_CHILDREN when
    # it has stopped: CPU seconds per message say whether processes waited for a core.
    cpu_before, wall_before = _children_cpu(), time.perf_counter()
    own_before, postgres_before = _own_cpu(), await _postgres_cpu(url)
    processes, base = await start_server(url, graph_base, layout, profile)
    run = list(LAYOUTS).index(layout) + 1  # keeps each run's wamids and new numbers apart
    graph.emit_statuses(base + "/webhook", APP_SECRET)  # as Meta does: `sent` for each reply
    chance = random.Random(run)
    tasks: list[asyncio.Task[None]] = []
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(
                limit=64)) as session, asyncpg.create_pool(url, min_size=1, max_size=4) as pool:
            day = Day(session, pool, base + "/webhook", graph, tag=f"L{run}x")
            graph.phones.clear()
            for wa_id in town.vendors:
                phone = graph.phones[wa_id] = Phone(wa_id)
                tasks.append(asyncio.create_task(vendor(day, phone)))
            for wa_id in town.retailers:
                phone = graph.phones[wa_id] = Phone(wa_id)
                tasks.append(asyncio.create_task(retailer(day, phone, town.orders, chance)))
            for k in range(int(size["newcomers"])):
                wa_id = f"97797{run}{k:07d}"
                phone = graph.phones[wa_id] = Phone(wa_id)
                tasks.append(asyncio.create_task(newcomer(day, phone, chance)))
            best, steps = await throughput(day, size["start_rate"], size["step_seconds"],
                                           size["max_rate"])
            timed = await latency(day, url, max(best / 2, 1.0), size["latency_seconds"])
            for task in tasks:
                task.cancel()
            for result in await asyncio.gather(*tasks, return_exceptions=True):
                if isinstance(result, Exception):  # a newcomer that registered returns None
                    raise RuntimeError("an actor failed") from result
            tasks.clear()
            acks = await acknowledgements(day, town, int(size["burst"]))
            await _settled(url, within=60)
    finally:
        for task in tasks:
            task.cancel()
        stop_server(processes, profile is not None)
    wall = time.perf_counter() - wall_before
    server_cpu = _children_cpu() - cpu_before
    own_cpu = _own_cpu() - own_before
    postgres_after = await _postgres_cpu(url)
    after = await _totals(url)
    handled = max(after[0] - before[0], 1)
    figures = {"layout": layout, "end_to_end_per_s": best, "steps": steps,
               "latency": timed, "burst": acks, "cpu": {
                   "server_cpu_s": round(server_cpu, 1), "wall_s": round(wall, 1),
                   "server_cores_used": round(server_cpu / wall, 2),
                   "server_cpu_ms_per_message": round(1000 * server_cpu / handled, 1),
                   # Everything else a message cost the machine: the database server, and this
                   # process's clients and fake Graph API (pgbench's client counts in its TPS).
                   "postgres_cpu_ms_per_message": None if (
                       postgres_before is None or postgres_after is None) else round(
                           1000 * (postgres_after - postgres_before) / handled, 1),
                   "bench_cpu_ms_per_message": round(1000 * own_cpu / handled, 1),
                   "load_average_1m": round(os.getloadavg()[0], 1), "cores": os.cpu_count()}}
    if profile is not None:
        figures["profile_ms"] = profile_table(sorted(profile.parent.glob(
            f"{profile.stem}-*.json")), after[0] - before[0],
                                              after[1] - before[1])
    return figures


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _postgres_cpu(url: str) -> float | None:
    """CPU seconds the database server's processes have used so far (its postmaster, the
    backends it has reaped, and those alive), read from /proc; None when it is not on this
    machine. What other databases on that server do meanwhile counts too."""
    conn = await db.connect(url)
    try:  # open while its process is read: the postmaster is its parent
        return _postmaster_cpu(await conn.fetchval("SELECT pg_backend_pid()"))
    finally:
        await conn.close()


def _postmaster_cpu(backend: int) -> float | None:
    proc = Path("/proc")
    try:
        name, fields = _proc_stat(proc / str(backend))
    except OSError:
        return None  # another machine's (or a container's) server
    if name != "postgres":
        return None  # a process of ours that has the remote backend's number
    postmaster = fields[1]
    ticks = 0
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            _, fields = _proc_stat(entry)
        except OSError:
            continue  # ended meanwhile: its time is in the postmaster's reaped children
        pid = int(entry.name)
        if pid == postmaster:
            ticks += sum(fields[11:15])  # its own time and its reaped children's
        elif fields[1] == postmaster:
            ticks += sum(fields[11:13])
    return ticks / os.sysconf("SC_CLK_TCK")


def _proc_stat(path: Path) -> tuple[str, list[int]]:
    """A process's name and its /proc stat fields from the state on (the state read as 0):
    [1] is its parent, [11:15] its user and system time and its reaped children's."""
    text = (path / "stat").read_text()
    return text[text.index("(") + 1:text.rindex(")")], [
        int(f) if f.lstrip("-").isdigit() else 0 for f in text[text.rindex(")") + 2:].split()]


async def _settled(url: str, within: float) -> None:
    """Wait until every message is handled and every reply is sent and recorded, so stopping
    the server leaves nothing in flight for the next one to find in doubt."""
    conn = await db.connect(url)
    try:
        deadline = time.perf_counter() + within
        while time.perf_counter() < deadline and await conn.fetchval(  # noqa: ASYNC110 - polling
                """SELECT (SELECT count(*) FROM inbound_messages WHERE handled_at IS NULL)
                        + (SELECT count(*) FROM outbox WHERE status = 'pending')"""):
            await asyncio.sleep(0.1)
    finally:
        await conn.close()


async def _totals(url: str) -> tuple[int, int]:
    """Messages stored and replies sent so far."""
    conn = await db.connect(url)
    try:
        row = await conn.fetchrow(
            """SELECT (SELECT count(*) FROM inbound_messages) AS messages,
                      (SELECT count(*) FROM outbox WHERE sent_at IS NOT NULL) AS replies""")
        return int(row["messages"]), int(row["replies"])
    finally:
        await conn.close()


# Where a message's time goes, read from pyinstrument's samples of the server: (stage, function,
# file, per what). Times include what a coroutine awaited (the database, the Graph API).
STAGES = (
    ("webhook total", "receive", "bot/webhook.py", "message"),
    ("  signature check", "signature_ok", "bot/webhook.py", "message"),
    ("  parse the body", "read_body", "bot/whatsapp.py", "message"),
    # In the store queue's writer tasks, which the POST awaits: not inside "webhook total".
    ("webhook store (group commit)", "store_webhooks", "bot/store.py", "message"),
    ("inbox total (lock, read, handle, mark)", "handle_next", "bot/inbox.py", "message"),
    ("  dialog handling", "handle", "bot/handler.py", "message"),
    ("    dialogs (parse, match, reads, writes)", "respond", "dialogs/router.py", "message"),
    ("    outbox insert", "send", "bot/outbound.py", "message"),
    ("sender claim", "_claim", "bot/sender.py", "reply"),
    ("HTTP send (fake Graph API)", "send", "bot/graph.py", "reply"),
    ("record the send", "_record_sent", "bot/sender.py", "reply"),
)


def _frames(frame: dict[str, Any], function: str, path: str) -> list[dict[str, Any]]:
    """The outermost frames of `function` in `path` under `frame`."""
    if frame["function"] == function and frame["file_path"].endswith(path):
        return [frame]
    return [f for child in frame.get("children", []) for f in _frames(child, function, path)]


def _database_seconds(frame: dict[str, Any]) -> float:
    if "/asyncpg/" in frame["file_path"]:
        return float(frame["time"])
    return sum(_database_seconds(child) for child in frame.get("children", []))


def profile_table(paths: list[Path], messages: int, replies: int) -> dict[str, float]:
    """Milliseconds per message (or per reply) in each stage of the servers' profiles (one per
    process started: the webhook's stages are in one, the workers' in another when split)."""
    roots = [json.loads(path.read_text("utf-8"))["root_frame"] for path in paths]
    table: dict[str, float] = {}
    for stage, function, file, per in STAGES:
        frames = [f for root in roots for f in _frames(root, function, file)]
        count = messages if per == "message" else replies
        table[stage] = round(1000 * sum(f["time"] for f in frames) / max(count, 1), 2)
        if function == "respond":
            database = sum(_database_seconds(f) for f in frames)
            table["      of which waiting for PostgreSQL"] = round(
                1000 * database / max(count, 1), 2)
    return table


def pgbench_tps(url: str, seconds: int) -> float | None:
    """`pgbench -N -M prepared -c 8` on the benchmark's server, in its own scratch tables."""
    if not os.path.exists(PGBENCH):
        return None
    subprocess.run([PGBENCH, "-i", "-s", "1", "-q", url], check=True, capture_output=True)
    out = subprocess.run([PGBENCH, "-N", "-M", "prepared", "-c", "8", "-j", "2",
                          "-T", str(seconds), url], check=True, capture_output=True,
                         text=True).stdout
    match = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", out)
    return float(match.group(1)) if match else None


SIZES = {
    "ci": {"retailers": 60, "vendors": 6, "newcomers": 10, "start_rate": 5, "step_seconds": 8,
           "max_rate": 2000, "latency_seconds": 4, "burst": 2000, "pgbench_seconds": 5},
    "full": {"retailers": 1500, "vendors": 100, "newcomers": 200, "start_rate": 20,
             "step_seconds": 20, "max_rate": 5000, "latency_seconds": 60, "burst": 5000,
             "pgbench_seconds": 30},
}


async def _run(size: dict[str, float], layouts: Sequence[str],
               profile: Path | None) -> dict[str, Any]:
    graph = TimedGraph()
    graph_server = TestServer(graph.app(), host="127.0.0.1")
    await graph_server.start_server()
    runs = []
    try:
        async with scratch_database("khaacho_bench_day") as url:
            town = await populate(url, int(size["retailers"]), int(size["vendors"]))
            tps = pgbench_tps(url, int(size["pgbench_seconds"]))
            for n in layouts:
                path = None if profile is None else profile / f"serve-{n}"
                runs.append(await one_server(url, town, graph, str(
                    graph_server.make_url("/v21.0")), n, size, path))
            conn = await db.connect(url)
            try:
                checked = await require_consistent_ledger(conn)
                counts = dict(await conn.fetchrow(
                    """SELECT (SELECT count(*) FROM orders) AS orders,
                              (SELECT count(*) FROM payments) AS payments,
                              (SELECT count(*) FROM registrations) AS registrations,
                              (SELECT count(*) FROM registrations WHERE area <> '')
                                  AS registrations_complete,
                              (SELECT count(*) FROM inbound_messages) AS messages,
                              (SELECT count(*) FROM outbox) AS replies"""))
                # How far orders went: transitions into each status, as the ledger names them.
                counts["transitions"] = {r["to_status"]: r["n"] for r in await conn.fetch(
                    """SELECT to_status, count(*) AS n FROM order_transitions
                       GROUP BY to_status ORDER BY to_status""")}
            finally:
                await conn.close()
    finally:
        await graph.close()
        await graph_server.close()
    for run in runs:
        run["e2e_per_pgbench_tps"] = round(run["end_to_end_per_s"] / tps, 3) if tps else None
        run["acks_per_pgbench_tps"] = round(run["burst"]["acks_per_s"] / tps, 3) if tps else None
    return {"pgbench_N_tps_8_clients": tps, "retailers": len(town.retailers),
            "vendors": len(town.vendors), **counts, "duplicates": graph.duplicates(),
            "runs": runs, "ledger_check": checked.summary()}


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.day_bench")
    parser.add_argument("--full", action="store_true", help="a whole town (minutes, not seconds)")
    parser.add_argument("--layouts", default=",".join(LAYOUTS),
                        help=f"server layouts to compare, of {', '.join(LAYOUTS)}")
    parser.add_argument("--profile", type=Path, help="run the server under pyinstrument, keep "
                        "its report here (serve-N.json) and print where a message's time goes")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override one size figure (e.g. step_seconds=1)")
    args = parser.parse_args(argv)
    size = dict(SIZES["full" if args.full else "ci"])
    for item in args.set:
        key, _, value = item.partition("=")
        size[key] = float(value)
    layouts = args.layouts.split(",")
    if unknown := set(layouts) - LAYOUTS.keys():
        parser.error(f"unknown layouts {sorted(unknown)}: choose from {', '.join(LAYOUTS)}")
    if args.profile is not None:
        args.profile.mkdir(parents=True, exist_ok=True)
    # The clients and the fake Graph API share the cores with what they measure: on uvloop, as
    # the server is, they take less of them.
    with asyncio.Runner(loop_factory=lambda: new_event_loop("uvloop")) as runner:
        figures = runner.run(_run(size, layouts, args.profile))
    print("a town's day (signed webhooks → khaacho serve → fake Graph API)")
    print(f"  pgbench -N -M prepared -c 8: {figures['pgbench_N_tps_8_clients']} tps")
    for run in figures["runs"]:
        lat = run["latency"]
        print(f"  {run['layout']}: end to end {run['end_to_end_per_s']:.0f}/s "
              f"({run['e2e_per_pgbench_tps']}×), acks {run['burst']['acks_per_s']}/s "
              f"({run['acks_per_pgbench_tps']}×; {run['burst']['handled_during_burst']} "
              f"handled during it), latency at {lat.get('offered_per_s')}/s: "
              f"p50 {lat.get('p50_ms')} p95 {lat.get('p95_ms')} p99 {lat.get('p99_ms')} ms")
        cpu = run["cpu"]
        print(f"    server CPU {cpu['server_cpu_s']} s in {cpu['wall_s']} s "
              f"({cpu['server_cores_used']} of {cpu['cores']} cores), "
              f"{cpu['server_cpu_ms_per_message']} ms per message (PostgreSQL "
              f"{cpu['postgres_cpu_ms_per_message']}, this bench's clients "
              f"{cpu['bench_cpu_ms_per_message']}); "
              f"load average {cpu['load_average_1m']}")
        for step in run["steps"]:
            print(f"    step {step}")
        for stage, ms in run.get("profile_ms", {}).items():
            print(f"    {stage:<48} {ms:>8.2f} ms")
    print(f"  duplicates {figures['duplicates']}, {figures['ledger_check']}")
    return figures


if __name__ == "__main__":
    main()
