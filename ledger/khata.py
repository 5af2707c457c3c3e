"""Bringing a vendor's existing book (khata) into the ledger, so they start from what they know
is owed instead of from zero.

A sale becomes an imported bill (an order born DELIVERED on its date, with the vendor's bill
number, no lines, due when the book says or after the retailer's credit terms) and its
ORDER_CREDIT; a payment becomes a payment and its PAYMENT_DEBIT, allocated to bills oldest
first by the rule live payments follow (`payments.plan_allocation`); a bill paid in full is
COMPLETED as live ones are. Every entry keeps the day it happened and is marked imported,
stated by the vendor whose book it is.

One file is one transaction, in three passes that keep memory flat however long the book is:
1. read and check each line as it streams by (`ledger.khata_csv`), resolve its vendor (unknown:
   an error) and retailer (unknown: added, approved, with the starter limit), and stage it in
   `khata_import_rows` in batches — vendor + reference is the idempotency key there, so a line
   imported before with the same content is skipped and with other content is an error;
2. check what needs the whole book: no payment is more than was owed at its date (no advances);
3. post the staged rows account by account in date order (sales before payments on one day),
   read back from the database in batches, written with a few set-based statements a batch.
Any problem anywhere refuses the whole file (each named by line and column); a dry run stops
after pass 2 and changes nothing either.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import asyncpg

from ledger import lifecycle, payments, postings, users
from ledger.audit import audit
from ledger.errors import PaymentExceedsBalance, RoleConflict
from ledger.khata_csv import KhataFormatError, Problem, Reader, Row
from ledger.payments import Bill
from ledger.postings import Posting
from locales.formats import NEPAL_TIME, money

BATCH = 5000   # rows staged, or posted, per round of statements
# Lines of a new retailer whose name comes on a later line wait for it; at most this many.
MAX_WAITING = 100_000
KEY_PREFIX = "khata"


@dataclass(frozen=True)
class ImportResult:
    run_id: int
    dry_run: bool
    rows: int              # lines read and found right
    sales: int             # new bills imported (or that would be, in a dry run)
    payments: int          # new payments
    replayed: int          # imported before with the same content: nothing to do
    retailers_added: int
    completed: int         # bills paid in full by the payments imported
    problems: tuple[Problem, ...]
    errors: int            # every problem, past the ones listed too

    @property
    def ok(self) -> bool:
        return self.errors == 0


def happened_at(day: date) -> datetime:
    """The moment a book's date stands for: the start of that day in Nepal."""
    return datetime.combine(day, time(), NEPAL_TIME)


def payment_key(vendor_id: int, reference: str) -> str:
    return f"{KEY_PREFIX}:{vendor_id}:{reference}"


async def import_book(
    conn: asyncpg.Connection, lines: Iterable[str], *, starter_limit_paisa: int,
    dry_run: bool = False, name: str = "", today: date | None = None,
) -> ImportResult:
    """Import one book (its lines of CSV text); see the module docstring. Nothing is kept
    unless every line is right and this is not a dry run."""
    reader = Reader(today or datetime.now(NEPAL_TIME).date())
    transaction = conn.transaction()
    await transaction.start()
    try:
        # The guards' queries (013) look rows up per row written. The rows this transaction
        # writes are invisible to the planner's statistics, and plans made while the tables
        # looked small would scan whole tables once per row, quadratic in the book. Indexes
        # exist for every such lookup: use them.
        await conn.execute("SET LOCAL enable_seqscan = off")
        run = _Run(conn, reader, int(await conn.fetchval(
            "SELECT nextval('khata_import_run_seq')")), starter_limit_paisa)
        try:
            await run.stage(lines)
        except KhataFormatError as exc:
            for problem in exc.problems:
                reader.problem(problem.line, problem.column, problem.message)
        if reader.errors == 0:
            await run.check_balances()
        if reader.errors == 0 and not dry_run:
            await run.post()
            await audit(conn, None, "khata.import", f"run:{run.run_id}", name[:200],
                        run.counts())
        result = run.result(dry_run)
    except BaseException:
        await transaction.rollback()
        raise
    if result.ok and not dry_run:
        await transaction.commit()
    else:
        await transaction.rollback()
    return result


@dataclass
class _Account:
    """An account being posted to: where its chain is and the bills still owed on."""

    id: int
    balance: int
    version: int
    terms_days: int
    bills: deque[Bill] = field(default_factory=deque)
    new_bills: set[int] = field(default_factory=set)


@dataclass
class _Run:
    conn: asyncpg.Connection
    reader: Reader
    run_id: int
    starter_limit_paisa: int
    rows: int = 0
    sales: int = 0
    payments: int = 0
    replayed: int = 0
    retailers_added: int = 0
    completed: int = 0
    _vendors: dict[str, int | None] = field(default_factory=dict)
    _retailers: dict[str, int | str] = field(default_factory=dict)
    # A new retailer's lines read before one that names the shop: (row, vendor id).
    _unnamed: dict[str, list[tuple[Row, int]]] = field(default_factory=dict)
    _waiting: int = 0

    def counts(self) -> dict[str, int]:
        return {"rows": self.rows, "sales": self.sales, "payments": self.payments,
                "replayed": self.replayed, "retailers_added": self.retailers_added,
                "completed": self.completed}

    def result(self, dry_run: bool) -> ImportResult:
        return ImportResult(run_id=self.run_id, dry_run=dry_run, **self.counts(),
                            problems=tuple(sorted(self.reader.problems, key=lambda p: p.line)),
                            errors=self.reader.errors)

    # Pass 1: read, resolve, stage ---------------------------------------------------------

    async def stage(self, lines: Iterable[str]) -> None:
        batch: list[tuple[Row, int, int]] = []
        for row in self.reader.rows(lines):
            self.rows += 1
            vendor_id = await self._vendor(row)
            if vendor_id is None:
                continue
            retailer_id = await self._retailer(row, vendor_id)
            if retailer_id is None:
                continue
            batch.append((row, vendor_id, retailer_id))
            batch += [(r, v, retailer_id) for r, v in self._unnamed.pop(row.retailer_phone, [])]
            if len(batch) >= BATCH:
                await self._stage(batch)
                batch.clear()
        if batch:
            await self._stage(batch)
        for phone, waiting in self._unnamed.items():
            for row, _ in waiting:
                self.reader.problem(row.line, "retailer_name",
                                    f"{phone} is new to Khaacho: give the shop's name on one "
                                    "of its lines")

    async def _vendor(self, row: Row) -> int | None:
        phone = row.vendor_phone
        if phone not in self._vendors:
            self._vendors[phone] = await self.conn.fetchval(
                """SELECT u.id FROM users u JOIN vendors v ON v.user_id = u.id
                   WHERE u.phone = $1 AND u.role = 'VENDOR'""", phone)
        vendor_id = self._vendors[phone]
        if vendor_id is None:
            self.reader.problem(row.line, "vendor_phone",
                                f"no vendor with phone {phone} (add the vendor first)")
        return vendor_id

    async def _retailer(self, row: Row, vendor_id: int) -> int | None:
        phone = row.retailer_phone
        known = self._retailers.get(phone)
        if known is None:
            if not row.retailer_name and (
                    phone in self._unnamed or await users.by_phone(self.conn, phone) is None):
                # Named on a later line, perhaps: this one waits for it.
                self._waiting += 1
                if self._waiting > MAX_WAITING:
                    self.reader.problem(row.line, "retailer_name",
                                        f"{phone} is new to Khaacho: give the shop's name")
                    return None
                self._unnamed.setdefault(phone, []).append((row, vendor_id))
                return None
            try:
                user, added = await users.add_from_book(
                    self.conn, phone=phone, name=row.retailer_name,
                    starter_limit_paisa=self.starter_limit_paisa, vendor_id=vendor_id)
                known = user.id
                self.retailers_added += added
            except RoleConflict as exc:
                known = ("is blocked" if exc.params.get("blocked")
                         else f"is a {str(exc.params.get('role', '?')).lower()}, not a retailer")
            self._retailers[phone] = known
        if isinstance(known, str):
            self.reader.problem(row.line, "retailer_phone", f"{phone} {known}")
            return None
        return known

    async def _stage(self, batch: list[tuple[Row, int, int]]) -> None:
        rows = [(vendor_id, r.reference, r.line, retailer_id, r.kind, r.happened_on,
                 r.amount_paisa, r.due_on, r.method) for r, vendor_id, retailer_id in batch]
        columns = list(zip(*rows, strict=True))
        staged = await self.conn.fetch(
            """INSERT INTO khata_import_rows (vendor_id, reference, run_id, line, retailer_id,
                   kind, happened_on, amount_paisa, due_on, method)
               SELECT u.vendor_id, u.reference, $10, u.line, u.retailer_id, u.kind,
                      u.happened_on, u.amount_paisa, u.due_on, u.method
               FROM unnest($1::bigint[], $2::text[], $3::int[], $4::bigint[], $5::text[],
                           $6::date[], $7::bigint[], $8::date[], $9::text[])
                    AS u (vendor_id, reference, line, retailer_id, kind, happened_on,
                          amount_paisa, due_on, method)
               ON CONFLICT (vendor_id, reference) DO NOTHING
               RETURNING line""",
            *[list(c) for c in columns], self.run_id)
        taken = {r["line"] for r in staged}
        for *_, kind, _, _, _, _ in (r for r in rows if r[2] in taken):
            if kind == "sale":
                self.sales += 1
            else:
                self.payments += 1
        others = [r for r in rows if r[2] not in taken]
        if not others:
            return
        found = await self.conn.fetch(
            """SELECT k.* FROM khata_import_rows k
               JOIN unnest($1::bigint[], $2::text[]) AS w (vendor_id, reference)
                 ON (k.vendor_id, k.reference) = (w.vendor_id, w.reference)""",
            [r[0] for r in others], [r[1] for r in others])
        earlier = {(f["vendor_id"], f["reference"]): f for f in found}
        for vendor_id, reference, line, retailer_id, kind, day, amount, due, method in others:
            before = earlier[(vendor_id, reference)]
            if before["run_id"] == self.run_id:
                self.reader.problem(line, "reference",
                                    f"{reference} is also on line {before['line']}")
            elif (before["retailer_id"], before["kind"], before["happened_on"],
                  before["amount_paisa"], before["due_on"], before["method"]) == (
                      retailer_id, kind, day, amount, due, method):
                self.replayed += 1
            else:
                self.reader.problem(
                    line, "reference",
                    f"{reference} was imported on {before['imported_at']:%Y-%m-%d} as a "
                    f"{before['kind']} of {money(before['amount_paisa'], 'en')} on "
                    f"{before['happened_on']}; this line says otherwise")

    # Pass 2: what needs the whole book ----------------------------------------------------

    async def check_balances(self) -> None:
        """No payment is more than the retailer owed the vendor at its date, with the rows
        before it (in posting order) on top of what the account holds: the first one per
        account that is."""
        rows = await self.conn.fetch(
            """WITH r AS (
                   SELECT k.line, k.retailer_id, k.vendor_id, k.kind, k.amount_paisa,
                          k.happened_on,
                          sum(CASE WHEN k.kind = 'sale' THEN k.amount_paisa
                                   ELSE -k.amount_paisa END)
                              OVER (PARTITION BY k.retailer_id, k.vendor_id
                                    ORDER BY k.happened_on, k.kind = 'payment', k.line)
                              AS moved
                   FROM khata_import_rows k WHERE k.run_id = $1)
               SELECT DISTINCT ON (r.retailer_id, r.vendor_id) r.line, r.amount_paisa,
                      COALESCE(a.balance_paisa, 0) + r.moved + r.amount_paisa AS owed
               FROM r LEFT JOIN ledger_accounts a
                    ON (a.retailer_id, a.vendor_id) = (r.retailer_id, r.vendor_id)
               WHERE r.kind = 'payment' AND COALESCE(a.balance_paisa, 0) + r.moved < 0
               ORDER BY r.retailer_id, r.vendor_id, r.happened_on, r.kind = 'payment', r.line""",
            self.run_id)
        for r in sorted(rows, key=lambda r: r["line"]):
            self.reader.problem(
                r["line"], "amount",
                f"a payment of {money(r['amount_paisa'], 'en')} is more than the "
                f"{money(max(int(r['owed']), 0), 'en')} owed to this vendor by then "
                "(a payment pays bills; it is never an advance)")

    # Pass 3: post -------------------------------------------------------------------------

    async def post(self) -> None:
        cursor = await self.conn.cursor(
            """SELECT k.line, k.reference, k.retailer_id, k.vendor_id, k.kind, k.happened_on,
                      k.amount_paisa, k.due_on, k.method
               FROM khata_import_rows k WHERE k.run_id = $1
               ORDER BY k.retailer_id, k.vendor_id, k.happened_on, k.kind = 'payment', k.line""",
            self.run_id)
        accounts: dict[tuple[int, int], _Account] = {}
        while True:
            batch = await cursor.fetch(BATCH)
            if not batch:
                break
            pairs = {(r["retailer_id"], r["vendor_id"]) for r in batch}
            # Accounts are visited in (retailer, vendor) order, the order every posting locks
            # them in, and an account no longer in the batch is done.
            finished = [accounts.pop(p) for p in list(accounts) if p not in pairs]
            await self._verify(finished)
            await self._open(accounts, pairs - set(accounts))
            await self._post_batch(accounts, batch)
        await self._verify(list(accounts.values()))

    async def _open(self, accounts: dict[tuple[int, int], _Account],
                    pairs: set[tuple[int, int]]) -> None:
        if not pairs:
            return
        locked = await postings.lock_accounts(self.conn, pairs)
        terms = dict(await self.conn.fetch(
            "SELECT user_id, credit_terms_days FROM retailers WHERE user_id = ANY($1::bigint[])",
            list({r for r, _ in pairs})))
        for pair in sorted(pairs):
            held = locked[pair]
            account = _Account(held.id, held.balance_paisa, held.version, terms[pair[0]])
            if held.version > 0:
                account.bills.extend(await payments.open_bills(self.conn, *pair))
            accounts[pair] = account

    async def _post_batch(self, accounts: dict[tuple[int, int], _Account],
                          batch: list[asyncpg.Record]) -> None:
        conn = self.conn
        sales = [r for r in batch if r["kind"] == "sale"]
        receipts = [r for r in batch if r["kind"] == "payment"]
        order_ids = await _ids(conn, "orders", len(sales))
        payment_ids = await _ids(conn, "payments", len(receipts))
        bill_of = {r["line"]: i for r, i in zip(sales, order_ids, strict=True)}
        payment_of = {r["line"]: i for r, i in zip(receipts, payment_ids, strict=True)}
        orders: list[tuple[int, int, int, int, str, datetime, datetime]] = []
        paid: list[tuple[int, int, int, int, str, str, str, datetime]] = []
        entries: list[tuple[object, ...]] = []
        allocations: list[tuple[int, int, int]] = []
        completions: dict[int, list[tuple[int, datetime]]] = {}
        for r in batch:
            account = accounts[(r["retailer_id"], r["vendor_id"])]
            at = happened_at(r["happened_on"])
            vendor, amount, reference = r["vendor_id"], r["amount_paisa"], r["reference"]
            if r["kind"] == "sale":
                order_id = bill_of[r["line"]]
                due = r["due_on"] or r["happened_on"] + timedelta(days=account.terms_days)
                orders.append((order_id, r["retailer_id"], vendor, amount, reference, at,
                               happened_at(due)))
                _add_bill(account, Bill(order_id, at, amount))
                account.new_bills.add(order_id)
                posting = Posting(
                    idempotency_key=f"order:{order_id}:credit", retailer_id=r["retailer_id"],
                    vendor_id=vendor, kind="ORDER_CREDIT", amount_paisa=amount,
                    actor_id=vendor, reason=f"bill {reference}", order_id=order_id,
                    happened_at=at, source="import")
            else:
                if amount > account.balance:  # a live payment got there first since pass 2
                    raise PaymentExceedsBalance(amount_paisa=amount,
                                                balance_paisa=account.balance)
                payment_id = payment_of[r["line"]]
                key = payment_key(vendor, reference)
                paid.append((payment_id, r["retailer_id"], vendor, amount, r["method"],
                             reference, key, at))
                for order_id, share in payments.plan_allocation(account.bills, amount):
                    allocations.append((payment_id, order_id, share))
                    bill = account.bills.popleft()
                    assert bill.order_id == order_id
                    if share < bill.outstanding_paisa:
                        account.bills.appendleft(
                            Bill(order_id, bill.billed_at, bill.outstanding_paisa - share))
                    else:
                        # An imported bill closes on the day it was paid; an older live one now.
                        when = at if order_id in account.new_bills else datetime.now(UTC)
                        completions.setdefault(vendor, []).append((order_id, when))
                posting = Posting(
                    idempotency_key=f"payment:{key}", retailer_id=r["retailer_id"],
                    vendor_id=vendor, kind="PAYMENT_DEBIT", amount_paisa=-amount,
                    actor_id=vendor, reason=f"{r['method']} {reference}", payment_id=payment_id,
                    happened_at=at, source="import")
            account.balance += posting.amount_paisa
            account.version += 1
            entries.append((account.id, posting.amount_paisa, posting.kind, posting.order_id,
                            posting.payment_id, posting.idempotency_key,
                            postings.request_hash(posting), vendor, posting.reason, at))
        if orders:
            await conn.execute(_INSERT_BILLS, *[list(c) for c in zip(*orders, strict=True)],
                               "DELIVERED")
        if paid:
            await conn.execute(_INSERT_PAYMENTS, *[list(c) for c in zip(*paid, strict=True)])
        await conn.executemany(_POST_ENTRY, entries)
        if allocations:
            await conn.execute(
                """INSERT INTO payment_allocations (payment_id, order_id, amount_paisa)
                   SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[])""",
                *[list(c) for c in zip(*allocations, strict=True)])
        for vendor, moves in sorted(completions.items()):
            moved = await lifecycle.move_many(conn, moves, "DELIVERED", "COMPLETED", vendor,
                                              "paid in full")
            self.completed += len(moved)

    async def _verify(self, done: list[_Account]) -> None:
        """Each finished account is where this pass put it: the chain it expected."""
        if not done:
            return
        rows = await self.conn.fetch(
            "SELECT id, balance_paisa, version FROM ledger_accounts WHERE id = ANY($1::bigint[])",
            [a.id for a in done])
        found = {r["id"]: (r["balance_paisa"], r["version"]) for r in rows}
        for account in done:
            assert found[account.id] == (account.balance, account.version), (account, found)


def _add_bill(account: _Account, bill: Bill) -> None:
    """Bills stay oldest first (billed time, then id), as allocation takes them: a bill from the
    book is usually the newest, but may be older than live ones already on the account."""
    bills = account.bills
    key = (bill.billed_at, bill.order_id)
    if not bills or key >= (bills[-1].billed_at, bills[-1].order_id):
        bills.append(bill)
        return
    at = len(bills)
    while at > 0 and (bills[at - 1].billed_at, bills[at - 1].order_id) > key:
        at -= 1
    bills.insert(at, bill)


async def _ids(conn: asyncpg.Connection, table: str, count: int) -> list[int]:
    """`count` fresh ids of a table's serial column, so rows can refer to each other before
    they are written."""
    if count == 0:
        return []
    rows = await conn.fetch(
        "SELECT nextval(pg_get_serial_sequence($1, 'id')) AS id FROM generate_series(1, $2)",
        table, count)
    return [r["id"] for r in rows]


_INSERT_BILLS = """
    INSERT INTO orders (id, number, status, retailer_id, vendor_id, total_paisa, source,
                        reference, accepted_at, delivered_at, due_at, updated_at)
    SELECT u.id, padded_number('KB-', nextval('import_bill_seq')), $8, u.retailer_id,
           u.vendor_id, u.total, 'import', u.reference, u.billed, u.billed, u.due, now()
    FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::text[],
                $6::timestamptz[], $7::timestamptz[])
         AS u (id, retailer_id, vendor_id, total, reference, billed, due)"""

_INSERT_PAYMENTS = """
    INSERT INTO payments (id, retailer_id, vendor_id, amount_paisa, method, reference,
                          recorded_by, idempotency_key, received_at, source)
    SELECT u.id, u.retailer_id, u.vendor_id, u.amount, u.method, u.reference, u.vendor_id,
           u.key, u.at, 'import'
    FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::text[], $6::text[],
                $7::text[], $8::timestamptz[])
         AS u (id, retailer_id, vendor_id, amount, method, reference, key, at)"""

# ledger.postings' one-statement posting, for an account this import holds locked: move the
# balance one version on and append the entry that moved it.
_POST_ENTRY = """
    WITH acc AS (
        UPDATE ledger_accounts
        SET balance_paisa = balance_paisa + $2, version = version + 1, updated_at = now()
        WHERE id = $1
        RETURNING id, balance_paisa, version)
    INSERT INTO ledger_entries (account_id, account_version, kind, amount_paisa,
        balance_after_paisa, order_id, payment_id, idempotency_key, request_hash, actor_id,
        reason, stated_by, happened_at, source)
    SELECT acc.id, acc.version, $3, $2, acc.balance_paisa, $4, $5, $6, $7, $8, $9, $8, $10,
           'import'
    FROM acc"""
