"""Hypothesis drives random orders, acceptances, payments, reversals, retries and concurrent
bursts against real PostgreSQL and checks the ledger's invariants after every step.

Every example gets fresh retailers and vendors in one database (cloning a database per example
would dominate the run time); invariants on balances and entry chains are checked globally.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
from collections.abc import Awaitable
from datetime import timedelta
from typing import Any, TypeVar

import asyncpg
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from ledger import assignment, check, credit, db, orders, payments, stock
from ledger.errors import (
    AlreadyReversed,
    IdempotencyConflict,
    NoVendorCanFill,
    OrderHasPayments,
    OverCreditLimit,
    PaymentExceedsBalance,
    StockBelowReserved,
    StockInsufficient,
)
from ledger.pricing import LineRequest
from ledger.users import User
from tests.ledger.conftest import add_products, carry, make_user

T = TypeVar("T")
# Modest by default so the suite stays quick on 2 cores; raise it for a longer hunt.
EXAMPLES = int(os.environ.get("LEDGER_STATEFUL_EXAMPLES", "30"))
LIMIT = 200_000  # Rs 2,000: small, so the limit is hit often
SKUS = ("CHINI", "CHAMAL", "TEL")
_keys = itertools.count()


def key(prefix: str) -> str:
    return f"{prefix}-{next(_keys)}"


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self, runner: asyncio.Runner, pool: asyncpg.Pool) -> None:
        super().__init__()
        self.runner = runner
        self.pool = pool
        self.admin, self.retailers, self.vendors = self.run(self._people())
        self.balance: dict[tuple[int, int], int] = {
            (r.id, v.id): 0 for r in self.retailers for v in self.vendors}
        self.entries = 0
        # payment key -> (payment id, retailer, vendor, amount, vendor user); reversed ones apart
        self.paid: dict[str, tuple[int, int, int, int, User]] = {}
        self.reversed: set[str] = set()
        # Only a reversed payment (a bounced cheque) may push exposure past the limit.
        self.bypass: dict[int, int] = {r.id: 0 for r in self.retailers}

    def run(self, coro: Awaitable[T]) -> T:
        return self.runner.run(coro)  # type: ignore[arg-type]

    async def _people(self) -> tuple[User, list[User], list[User]]:
        async with self.pool.acquire() as conn:
            admin = await make_user(conn, "ADMIN", "Admin")
            retailers = [await make_user(conn, "RETAILER", f"Shop {n}", credit_limit_paisa=LIMIT)
                         for n in range(2)]
            vendors = [await make_user(conn, "VENDOR", f"Vendor {n}") for n in range(2)]
            await carry(conn, vendors[0], "CHINI", 11500, 20_000)
            await carry(conn, vendors[0], "CHAMAL", 9000, 30_000)
            await carry(conn, vendors[0], "TEL", 24000, 5_000)
            await carry(conn, vendors[1], "CHINI", 11000, 10_000)
            await carry(conn, vendors[1], "CHAMAL", 9500, 30_000)
            return admin, retailers, vendors

    async def _pick(self, conn: asyncpg.Connection, status: str, pick: int) -> Any:
        rows = await conn.fetch(
            """SELECT id, vendor_id, retailer_id, total_paisa FROM orders
               WHERE retailer_id = ANY($1::bigint[]) AND status = $2 ORDER BY id""",
            [r.id for r in self.retailers], status,
        )
        return rows[pick % len(rows)] if rows else None

    def _vendor(self, vendor_id: int) -> User:
        return next(v for v in self.vendors if v.id == vendor_id)

    # --- rules ---------------------------------------------------------------------------

    @rule(who=st.integers(0, 1),
          lines=st.lists(st.tuples(st.sampled_from(SKUS), st.integers(1, 6)), min_size=1,
                         max_size=3))
    def place_and_confirm(self, who: int, lines: list[tuple[str, int]]) -> None:
        async def go() -> None:
            async with self.pool.acquire() as conn:
                retailer = self.retailers[who]
                draft = await orders.create_draft(
                    conn, retailer, [LineRequest(s, q * 1000, "kg") for s, q in lines])
                with contextlib.suppress(OverCreditLimit, NoVendorCanFill):
                    await orders.confirm(conn, draft.id, retailer, confirm_key=key("confirm"))
        self.run(go())

    async def _accept(self, conn: asyncpg.Connection, row: Any) -> bool:
        try:
            await orders.accept(conn, row["id"], self._vendor(row["vendor_id"]))
        except (StockInsufficient, OverCreditLimit):
            return False
        self.balance[(row["retailer_id"], row["vendor_id"])] += row["total_paisa"]
        self.entries += 1
        return True

    @rule(pick=st.integers(0, 100))
    def accept(self, pick: int) -> None:
        async def go() -> None:
            async with self.pool.acquire() as conn:
                row = await self._pick(conn, "VENDOR_ASSIGNED", pick)
                if row is not None:
                    await self._accept(conn, row)
        self.run(go())

    @rule(pick=st.integers(0, 100))
    def reject(self, pick: int) -> None:
        async def go() -> None:
            async with self.pool.acquire() as conn:
                row = await self._pick(conn, "VENDOR_ASSIGNED", pick)
                if row is not None:
                    await orders.reject(conn, row["id"], self._vendor(row["vendor_id"]), "busy")
        self.run(go())

    @rule(pick=st.integers(0, 100), deliver=st.booleans())
    def dispatch_and_deliver(self, pick: int, deliver: bool) -> None:
        async def go() -> None:
            async with self.pool.acquire() as conn:
                row = await self._pick(conn, "ACCEPTED", pick)
                if row is not None:
                    vendor = self._vendor(row["vendor_id"])
                    await orders.dispatch(conn, row["id"], vendor)
                    if deliver:
                        await orders.deliver(conn, row["id"], vendor)
        self.run(go())

    @rule(pick=st.integers(0, 100), status=st.sampled_from(["ACCEPTED", "VENDOR_ASSIGNED"]))
    def cancel(self, pick: int, status: str) -> None:
        async def go() -> None:
            async with self.pool.acquire() as conn:
                row = await self._pick(conn, status, pick)
                if row is None:
                    return
                try:
                    await orders.cancel(conn, row["id"], self.admin, "test cancel")
                except OrderHasPayments:
                    return
                if status == "ACCEPTED":
                    self.balance[(row["retailer_id"], row["vendor_id"])] -= row["total_paisa"]
                    self.entries += 1
        self.run(go())

    @rule(who=st.integers(0, 1), to=st.integers(0, 1), amount=st.integers(1, 60_000))
    def pay(self, who: int, to: int, amount: int) -> None:
        retailer, vendor = self.retailers[who], self.vendors[to]
        k = key("pay")

        async def go() -> None:
            async with self.pool.acquire() as conn:
                try:
                    done = await payments.record(
                        conn, retailer_id=retailer.id, vendor_id=vendor.id, amount_paisa=amount,
                        method="cash", actor=vendor, idempotency_key=k)
                except PaymentExceedsBalance:
                    assert amount > self.balance[(retailer.id, vendor.id)]
                    return
                self.balance[(retailer.id, vendor.id)] -= amount
                self.entries += 1
                self.paid[k] = (done.payment_id, retailer.id, vendor.id, amount, vendor)
        self.run(go())

    @rule(pick=st.integers(0, 100), same=st.booleans())
    def retry_payment(self, pick: int, same: bool) -> None:
        """A retry with the same key returns the original; with other content it is refused."""
        if not self.paid:
            return
        k = sorted(self.paid)[pick % len(self.paid)]
        payment_id, retailer_id, vendor_id, amount, vendor = self.paid[k]

        async def go() -> None:
            async with self.pool.acquire() as conn:
                try:
                    again = await payments.record(
                        conn, retailer_id=retailer_id, vendor_id=vendor_id,
                        amount_paisa=amount if same else amount + 1, method="cash",
                        actor=vendor, idempotency_key=k)
                except IdempotencyConflict:
                    assert not same
                    return
                assert same and again.replayed and again.payment_id == payment_id
        self.run(go())

    @rule(pick=st.integers(0, 100))
    def reverse_payment(self, pick: int) -> None:
        if not self.paid:
            return
        k = sorted(self.paid)[pick % len(self.paid)]
        payment_id, retailer_id, vendor_id, amount, _ = self.paid[k]

        async def go() -> None:
            async with self.pool.acquire() as conn:
                try:
                    await payments.reverse_payment(conn, payment_id, self.admin, "bounced",
                                                   idempotency_key=key("rev"))
                except AlreadyReversed:
                    assert k in self.reversed
                    return
                assert k not in self.reversed
                self.reversed.add(k)
                self.balance[(retailer_id, vendor_id)] += amount
                self.bypass[retailer_id] += amount
                self.entries += 1
        self.run(go())

    @rule(to=st.integers(0, 1), sku=st.sampled_from(["CHINI", "CHAMAL"]),
          kg=st.integers(0, 40))
    def set_stock(self, to: int, sku: str, kg: int) -> None:
        async def go() -> None:
            async with self.pool.acquire() as conn:
                with contextlib.suppress(StockBelowReserved):
                    await stock.set_offer(conn, self.vendors[to], sku, stock_milli=kg * 1000)
        self.run(go())

    @rule()
    def offers_time_out(self) -> None:
        async def go() -> None:
            async with self.pool.acquire() as conn:
                far = await conn.fetchval("SELECT now() + interval '1 day'")
                await assignment.expire_offers(conn, far, timedelta(0))
        self.run(go())

    @rule(confirms=st.integers(0, 4), accepts=st.integers(0, 3), pays=st.integers(0, 3))
    def concurrent_burst(self, confirms: int, accepts: int, pays: int) -> None:
        """Confirmations, acceptances and doubled payment requests all at once."""
        async def go() -> None:
            retailer = self.retailers[0]
            async with self.pool.acquire() as conn:
                drafts = [await orders.create_draft(conn, retailer, [LineRequest("CHAMAL", 2000)])
                          for _ in range(confirms)]
                assigned = await conn.fetch(
                    """SELECT id, vendor_id, retailer_id, total_paisa FROM orders
                       WHERE retailer_id = ANY($1::bigint[]) AND status = 'VENDOR_ASSIGNED'
                       ORDER BY id LIMIT $2""",
                    [r.id for r in self.retailers], accepts)
            account = (retailer.id, self.vendors[0].id)
            payable = min(pays, self.balance[account])  # 1 paisa each: all fit the balance
            pay_keys = [key("burst-pay") for _ in range(payable)]

            async def confirm(order_id: int) -> None:
                async with self.pool.acquire() as c:
                    with contextlib.suppress(OverCreditLimit, NoVendorCanFill):
                        await orders.confirm(c, order_id, retailer)

            async def accept(row: Any) -> None:
                async with self.pool.acquire() as c:
                    await self._accept(c, row)

            async def pay(k: str) -> payments.PaymentResult:
                async with self.pool.acquire() as c:
                    return await payments.record(
                        c, retailer_id=account[0], vendor_id=account[1], amount_paisa=1,
                        method="cash", actor=self.vendors[0], idempotency_key=k)

            results = await asyncio.gather(
                *(confirm(d.id) for d in drafts), *(accept(r) for r in assigned),
                *(pay(k) for k in pay_keys + pay_keys))
            paid = [r for r in results if isinstance(r, payments.PaymentResult)]
            for k in pay_keys:
                mine = {r.payment_id for r in paid if r.entry.idempotency_key == f"payment:{k}"}
                assert len(mine) == 1, mine
                self.paid[k] = (mine.pop(), account[0], account[1], 1, self.vendors[0])
            assert sum(not r.replayed for r in paid) == payable
            self.balance[account] -= payable
            self.entries += payable
        self.run(go())

    def teardown(self) -> None:
        """Retire this example's vendors so later examples' orders are never offered to them."""
        async def go() -> None:
            async with self.pool.acquire() as conn:
                await conn.execute("UPDATE users SET active = false WHERE id = ANY($1::bigint[])",
                                   [v.id for v in self.vendors])
        self.run(go())

    # --- invariants ----------------------------------------------------------------------

    @invariant()
    def ledger_is_consistent(self) -> None:
        async def go() -> None:
            async with self.pool.acquire() as conn:
                # Balances, versions, allocations, stock and holds, logged and legal statuses.
                result = await check.run(conn)
                assert result.ok, result.lines()
                ids = [r.id for r in self.retailers]
                rows = await conn.fetch(
                    """SELECT retailer_id, vendor_id, balance_paisa FROM ledger_accounts
                       WHERE retailer_id = ANY($1::bigint[])""", ids)
                for r in rows:
                    assert r["balance_paisa"] == self.balance[(r["retailer_id"], r["vendor_id"])]
                counts = await conn.fetchrow(
                    """SELECT count(*) AS n, count(DISTINCT e.idempotency_key) AS keys
                       FROM ledger_entries e JOIN ledger_accounts a ON a.id = e.account_id
                       WHERE a.retailer_id = ANY($1::bigint[])""", ids)
                assert counts["n"] == counts["keys"] == self.entries
                assert await conn.fetchval(
                    "SELECT count(*) FROM payments WHERE retailer_id = ANY($1::bigint[])", ids
                ) == len(self.paid)
                for retailer in self.retailers:
                    position = await credit.position(conn, retailer.id)
                    assert position.exposure_paisa <= LIMIT + self.bypass[retailer.id], position
        self.run(go())


def test_ledger_invariants_hold_under_random_operations(database_url: str) -> None:
    with asyncio.Runner() as runner:
        pool = runner.run(db.create_pool(database_url, min_size=2, max_size=10))
        try:
            async def products() -> None:
                async with pool.acquire() as conn:
                    await add_products(conn)
            runner.run(products())
            run_state_machine_as_test(
                lambda: LedgerMachine(runner, pool),
                # No shrinking: against a real database it can take minutes; the failing steps
                # are printed as they are. No example database: nothing written to the tree.
                settings=settings(max_examples=EXAMPLES, stateful_step_count=25, deadline=None,
                                  suppress_health_check=list(HealthCheck), database=None,
                                  phases=[Phase.explicit, Phase.generate]),
            )
        finally:
            runner.run(pool.close())
