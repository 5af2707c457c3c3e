"""The ledger checks itself: every rule money, stock and orders must keep, recomputed from rows.

pgledger's audit query grown into a report. Each kind of break is one set-based statement that
returns at most `limit` lines (each naming its table and row) and the exact number of rows
breaking that rule; the hash chains (`entry_chain`) are walked in Python, a batch of entries at a
time (ledger.chain). All statements read one REPEATABLE READ snapshot, so a check running beside
live traffic never sees half of a posting. Read only. `khaacho check`, the server's periodic
check (exported on /metrics), the ledger tests and the benchmarks all call `run`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import asyncpg

from ledger import chain, lifecycle, score_data

DEFAULT_LIMIT = 100   # lines reported per kind of break
MAX_LIMIT = 10_000


@dataclass(frozen=True)
class Problem:
    kind: str  # which rule broke: one of KINDS
    line: str  # "ledger_accounts 7: balance 500 paisa, its entries sum to 400"


@dataclass(frozen=True)
class CheckResult:
    problems: tuple[Problem, ...]   # at most `limit` of each kind, in KINDS order
    counts: Mapping[str, int]       # kind -> how many rows break it (exact; only kinds found)
    accounts: int
    entries: int
    orders: int
    payments: int
    stock_rows: int

    @property
    def ok(self) -> bool:
        return not self.counts

    @property
    def total(self) -> int:
        """Every break found, including those past the per-kind limit."""
        return sum(self.counts.values())

    def lines(self) -> list[str]:
        """One line per break reported, and one more per kind that had more than were shown."""
        out = [p.line for p in self.problems]
        shown: dict[str, int] = {}
        for p in self.problems:
            shown[p.kind] = shown.get(p.kind, 0) + 1
        for kind, count in self.counts.items():
            if count > shown.get(kind, 0):
                out.append(f"... and {count - shown.get(kind, 0)} more {kind}")
        return out

    def summary(self) -> str:
        checked = (f"{self.accounts} accounts, {self.entries} entries, {self.orders} orders, "
                   f"{self.payments} payments, {self.stock_rows} stock rows checked")
        if self.ok:
            return f"ledger consistent: {checked}"
        return f"ledger has {self.total} problem(s): {checked}"


_LEGAL_FROM = [a for a, _ in sorted(lifecycle.TRANSITIONS)]
_LEGAL_TO = [b for _, b in sorted(lifecycle.TRANSITIONS)]

# (kind, statement, parameters after $1). $1 is always the limit; every statement returns
# `found` (rows breaking the rule, counted before the LIMIT) and `line`.
_CHECKS: tuple[tuple[str, str, tuple[object, ...]], ...] = (
    ("account_balance", """
        SELECT count(*) OVER () AS found,
               format('ledger_accounts %s: balance %s paisa, its entries sum to %s',
                      a.id, a.balance_paisa, COALESCE(s.amount, 0)) AS line
        FROM ledger_accounts a
        LEFT JOIN (SELECT account_id, sum(amount_paisa) AS amount
                   FROM ledger_entries GROUP BY account_id) s ON s.account_id = a.id
        WHERE a.balance_paisa <> COALESCE(s.amount, 0)
        ORDER BY a.id LIMIT $1""", ()),
    # Versions are > 0 and unique per account (constraints), so count = max = version means the
    # entries are exactly versions 1..version: a chain with no gap.
    ("account_version", """
        SELECT count(*) OVER () AS found,
               format('ledger_accounts %s: version %s, %s entries, last entry version %s',
                      a.id, a.version, COALESCE(s.n, 0), COALESCE(s.last, 0)) AS line
        FROM ledger_accounts a
        LEFT JOIN (SELECT account_id, count(*) AS n, max(account_version) AS last
                   FROM ledger_entries GROUP BY account_id) s ON s.account_id = a.id
        WHERE a.version <> COALESCE(s.n, 0) OR a.version <> COALESCE(s.last, 0)
        ORDER BY a.id LIMIT $1""", ()),
    ("entry_balance_after", """
        SELECT count(*) OVER () AS found,
               format('ledger_entries %s: balance_after %s paisa, the running sum of account %s '
                      'is %s', id, balance_after_paisa, account_id, running) AS line
        FROM (SELECT id, account_id, balance_after_paisa,
                     sum(amount_paisa) OVER (PARTITION BY account_id
                                             ORDER BY account_version) AS running
              FROM ledger_entries) e
        WHERE balance_after_paisa <> running
        ORDER BY id LIMIT $1""", ()),
    ("reversed_twice", """
        SELECT count(*) OVER () AS found,
               format('ledger_entries %s: reversed %s times (by entries %s)',
                      reverses_entry_id, n, ids) AS line
        FROM (SELECT reverses_entry_id, count(*) AS n,
                     string_agg(id::text, ', ' ORDER BY id) AS ids
              FROM ledger_entries WHERE reverses_entry_id IS NOT NULL
              GROUP BY reverses_entry_id HAVING count(*) > 1) r
        ORDER BY reverses_entry_id LIMIT $1""", ()),
    ("reversal_mismatch", """
        SELECT count(*) OVER () AS found,
               format('ledger_entries %s: reverses entry %s (%s, %s paisa, account %s) with %s '
                      'paisa on account %s', r.id, o.id, o.kind, o.amount_paisa, o.account_id,
                      r.amount_paisa, r.account_id) AS line
        FROM ledger_entries r JOIN ledger_entries o ON o.id = r.reverses_entry_id
        WHERE r.amount_paisa <> -o.amount_paisa OR r.account_id <> o.account_id
           OR o.kind = 'REVERSAL'
        ORDER BY r.id LIMIT $1""", ()),
    # What an entry says about itself (migration 015): a live entry happened when it was
    # written, an imported one before, and only an imported bill or receipt is imported; an
    # acknowledgement comes from the other side of the account.
    ("entry_meta", """
        SELECT count(*) OVER () AS found,
               format('ledger_entries %s: %s', e.id, CASE
                   WHEN e.source = 'live' AND e.happened_at <> e.created_at THEN
                       format('live, but happened %s, written %s', e.happened_at, e.created_at)
                   WHEN e.happened_at > e.created_at THEN
                       format('imported, but happened %s, after it was written %s',
                              e.happened_at, e.created_at)
                   WHEN e.source <> COALESCE(o.source, p.source, 'live') THEN
                       format('%s, for a %s %s', e.source, COALESCE(o.source, p.source, 'live'),
                              CASE WHEN o.id IS NOT NULL THEN 'order' ELSE 'payment' END)
                   ELSE format('acknowledged by user %s, stated by %s, on the account of '
                               'retailer %s and vendor %s', e.acknowledged_by, e.stated_by,
                               a.retailer_id, a.vendor_id) END) AS line
        FROM ledger_entries e
        JOIN ledger_accounts a ON a.id = e.account_id
        LEFT JOIN orders o ON o.id = e.order_id AND e.kind = 'ORDER_CREDIT'
        LEFT JOIN payments p ON p.id = e.payment_id AND e.kind = 'PAYMENT_DEBIT'
        WHERE (e.source = 'live' AND e.happened_at <> e.created_at)
           OR e.happened_at > e.created_at
           OR e.source <> COALESCE(o.source, p.source, 'live')
           OR e.acknowledged_by NOT IN (a.retailer_id, a.vendor_id)
           OR e.acknowledged_by = e.stated_by
        ORDER BY e.id LIMIT $1""", ()),
    ("order_total", """
        SELECT count(*) OVER () AS found,
               format('orders %s (id %s): total %s paisa, its lines sum to %s',
                      o.number, o.id, o.total_paisa, COALESCE(l.amount, 0)) AS line
        FROM orders o
        LEFT JOIN (SELECT order_id, sum(line_total_paisa) AS amount
                   FROM order_lines GROUP BY order_id) l ON l.order_id = o.id
        WHERE o.source = 'live' AND o.total_paisa <> COALESCE(l.amount, 0)
        ORDER BY o.id LIMIT $1""", ()),
    # An imported bill (migration 015) names no goods, arrived delivered, and is delivered or,
    # once paid, completed.
    ("import_bill", """
        SELECT count(*) OVER () AS found,
               format('orders %s (id %s): imported bill %s with %s lines', o.number, o.id,
                      o.status, COALESCE(l.n, 0)) AS line
        FROM orders o
        LEFT JOIN (SELECT order_id, count(*) AS n FROM order_lines GROUP BY order_id) l
               ON l.order_id = o.id
        WHERE o.source = 'import' AND (l.n > 0 OR o.status <> ALL($2::text[]))
        ORDER BY o.id LIMIT $1""", (list(lifecycle.FULFILLED_STATUSES),)),
    # A standing ORDER_CREDIT is one no REVERSAL undid. Billed orders have exactly one, of their
    # total, on their retailer x vendor account; other orders (cancelled ones too) have none.
    ("order_credit", """
        WITH credits AS (
            SELECT e.order_id, count(*) AS n, sum(e.amount_paisa) AS amount,
                   bool_and(a.retailer_id = o.retailer_id
                            AND a.vendor_id IS NOT DISTINCT FROM o.vendor_id) AS same_account
            FROM ledger_entries e
            JOIN ledger_accounts a ON a.id = e.account_id
            JOIN orders o ON o.id = e.order_id
            WHERE e.kind = 'ORDER_CREDIT' AND NOT EXISTS (
                SELECT 1 FROM ledger_entries r WHERE r.reverses_entry_id = e.id)
            GROUP BY e.order_id)
        SELECT count(*) OVER () AS found,
               CASE WHEN o.status = ANY($2::text[]) THEN
                   format('orders %s (id %s): %s with %s standing ORDER_CREDIT of %s paisa; '
                          'one of %s on its own account expected', o.number, o.id, o.status,
                          COALESCE(c.n, 0), COALESCE(c.amount, 0), o.total_paisa)
               ELSE
                   format('orders %s (id %s): %s, not billed, but %s ORDER_CREDIT of %s paisa '
                          'stands', o.number, o.id, o.status, c.n, c.amount)
               END AS line
        FROM orders o LEFT JOIN credits c ON c.order_id = o.id
        WHERE CASE WHEN o.status = ANY($2::text[])
                   THEN c.n IS DISTINCT FROM 1 OR c.amount <> o.total_paisa OR NOT c.same_account
                   ELSE c.n > 0 END
        ORDER BY o.id LIMIT $1""", (list(lifecycle.BILLED_STATUSES),)),
    ("payment_debit", """
        WITH debits AS (
            SELECT e.payment_id, count(*) AS n, sum(e.amount_paisa) AS amount,
                   bool_and(a.retailer_id = p.retailer_id AND a.vendor_id = p.vendor_id)
                       AS same_account
            FROM ledger_entries e
            JOIN ledger_accounts a ON a.id = e.account_id
            JOIN payments p ON p.id = e.payment_id
            WHERE e.kind = 'PAYMENT_DEBIT'
            GROUP BY e.payment_id)
        SELECT count(*) OVER () AS found,
               format('payments %s: %s PAYMENT_DEBIT entries of %s paisa; one of -%s on its own '
                      'account expected', p.id, COALESCE(d.n, 0), COALESCE(d.amount, 0),
                      p.amount_paisa) AS line
        FROM payments p LEFT JOIN debits d ON d.payment_id = p.id
        WHERE d.n IS DISTINCT FROM 1 OR d.amount <> -p.amount_paisa OR NOT d.same_account
        ORDER BY p.id LIMIT $1""", ()),
    # payments.reversed mirrors the REVERSAL of the payment's debit.
    ("payment_reversed", """
        SELECT count(*) OVER () AS found,
               format('payments %s: reversed is %s, but %s REVERSAL entries undo its debit',
                      p.id, p.reversed::text, COALESCE(r.n, 0)) AS line
        FROM payments p
        LEFT JOIN (SELECT d.payment_id, count(*) AS n
                   FROM ledger_entries r JOIN ledger_entries d ON d.id = r.reverses_entry_id
                   WHERE d.kind = 'PAYMENT_DEBIT' GROUP BY d.payment_id) r
               ON r.payment_id = p.id
        WHERE p.reversed <> (COALESCE(r.n, 0) > 0)
        ORDER BY p.id LIMIT $1""", ()),
    ("payment_overallocated", """
        SELECT count(*) OVER () AS found,
               format('payments %s: %s paisa allocated to orders, the payment is %s',
                      p.id, a.amount, p.amount_paisa) AS line
        FROM payments p
        JOIN (SELECT payment_id, sum(amount_paisa) AS amount
              FROM payment_allocations GROUP BY payment_id) a ON a.payment_id = p.id
        WHERE a.amount > p.amount_paisa
        ORDER BY p.id LIMIT $1""", ()),
    # Allocations of a reversed payment lapse (the order can be paid again), so only standing
    # payments count.
    ("order_overpaid", """
        SELECT count(*) OVER () AS found,
               format('orders %s (id %s): %s paisa of standing payments allocated, total %s',
                      o.number, o.id, a.amount, o.total_paisa) AS line
        FROM orders o
        JOIN (SELECT pa.order_id, sum(pa.amount_paisa) AS amount
              FROM payment_allocations pa JOIN payments p ON p.id = pa.payment_id
              WHERE NOT p.reversed GROUP BY pa.order_id) a ON a.order_id = o.id
        WHERE a.amount > o.total_paisa
        ORDER BY o.id LIMIT $1""", ()),
    ("allocation_order", """
        SELECT count(*) OVER () AS found,
               format('payment_allocations (payment %s, order %s): %s', pa.payment_id, o.number,
                      CASE WHEN (p.retailer_id, p.vendor_id) IS DISTINCT FROM
                                (o.retailer_id, o.vendor_id)
                           THEN format('payment of retailer %s to vendor %s, order of retailer '
                                       '%s with vendor %s', p.retailer_id, p.vendor_id,
                                       o.retailer_id, o.vendor_id)
                           ELSE format('the order is %s, not billed', o.status) END) AS line
        FROM payment_allocations pa
        JOIN payments p ON p.id = pa.payment_id
        JOIN orders o ON o.id = pa.order_id
        WHERE (p.retailer_id, p.vendor_id) IS DISTINCT FROM (o.retailer_id, o.vendor_id)
           OR (NOT p.reversed AND o.status <> ALL($2::text[]))
        ORDER BY pa.payment_id, pa.order_id LIMIT $1""", (list(lifecycle.BILLED_STATUSES),)),
    # What migration 030 keeps: each billed order with something still owed (its total less
    # the allocations of standing payments), one row each, with the order's parties and dates;
    # nothing for any other order.
    ("bill_owing", """
        SELECT count(*) OVER () AS found,
               format('bills_owing (order %s): %s', COALESCE(w.id, b.order_id),
                      CASE WHEN b.order_id IS NULL
                           THEN format('no row, but the bill owes %s paisa', w.owing)
                           WHEN w.id IS NULL
                           THEN format('%s paisa, but the bill owes nothing', b.owing_paisa)
                           WHEN b.owing_paisa <> w.owing
                           THEN format('%s paisa, but the bill owes %s', b.owing_paisa, w.owing)
                           ELSE 'its retailer, vendor or dates are not its order''s' END) AS line
        FROM (SELECT o.id, o.retailer_id, o.vendor_id, o.accepted_at, o.due_at,
                     o.total_paisa - COALESCE(a.paid, 0) AS owing
              FROM orders o
              LEFT JOIN (SELECT pa.order_id, sum(pa.amount_paisa) AS paid
                         FROM payment_allocations pa
                         JOIN payments p ON p.id = pa.payment_id AND NOT p.reversed
                         GROUP BY pa.order_id) a ON a.order_id = o.id
              WHERE o.status = ANY($2::text[]) AND o.total_paisa > COALESCE(a.paid, 0)) w
        FULL JOIN bills_owing b ON b.order_id = w.id
        WHERE w.id IS NULL OR b.order_id IS NULL
           OR (b.owing_paisa, b.retailer_id, b.vendor_id, b.accepted_at, b.due_at)
              IS DISTINCT FROM (w.owing, w.retailer_id, w.vendor_id, w.accepted_at, w.due_at)
        ORDER BY COALESCE(w.id, b.order_id) LIMIT $1""", (list(lifecycle.BILLED_STATUSES),)),
    ("stock_negative", """
        SELECT count(*) OVER () AS found,
               format('vendor_products (vendor %s, %s): stock %s, reserved %s (milli)',
                      vendor_id, sku, stock_milli, reserved_milli) AS line
        FROM vendor_products
        WHERE stock_milli < 0 OR reserved_milli < 0 OR reserved_milli > stock_milli
        ORDER BY vendor_id, sku LIMIT $1""", ()),
    ("stock_reserved", """
        SELECT count(*) OVER () AS found,
               format('vendor_products (vendor %s, %s): reserved %s milli, open reservations '
                      'hold %s', vp.vendor_id, vp.sku, vp.reserved_milli,
                      COALESCE(r.held, 0)) AS line
        FROM vendor_products vp
        LEFT JOIN (SELECT vendor_id, sku, sum(quantity_milli) AS held
                   FROM stock_reservations WHERE state = 'RESERVED'
                   GROUP BY vendor_id, sku) r ON (r.vendor_id, r.sku) = (vp.vendor_id, vp.sku)
        WHERE vp.reserved_milli <> COALESCE(r.held, 0)
        ORDER BY vp.vendor_id, vp.sku LIMIT $1""", ()),
    # Stock is held exactly while an order is accepted: every line of it, by its vendor.
    ("reservation_order", """
        SELECT count(*) OVER () AS found, line FROM (
            SELECT o.id, sr.sku,
                   format('stock_reservations (order %s, %s): RESERVED, but the order is %s',
                          o.number, sr.sku, o.status) AS line
            FROM stock_reservations sr JOIN orders o ON o.id = sr.order_id
            WHERE sr.state = 'RESERVED'
              AND (o.status <> ALL($2::text[]) OR sr.vendor_id IS DISTINCT FROM o.vendor_id)
            UNION ALL
            SELECT o.id, l.sku,
                   format('orders %s (id %s): %s, but %s milli of %s are not reserved',
                          o.number, o.id, o.status, l.quantity_milli, l.sku)
            FROM orders o JOIN order_lines l ON l.order_id = o.id
            WHERE o.status = ANY($2::text[]) AND NOT EXISTS (
                SELECT 1 FROM stock_reservations sr
                WHERE sr.order_id = o.id AND sr.sku = l.sku AND sr.state = 'RESERVED'
                  AND sr.vendor_id = o.vendor_id AND sr.quantity_milli = l.quantity_milli)
        ) x
        ORDER BY id, sku LIMIT $1""", (list(lifecycle.STOCK_HELD_STATUSES),)),
    ("transition_illegal", """
        SELECT count(*) OVER () AS found,
               format('order_transitions %s: order %s moved %s -> %s, not a legal transition',
                      t.id, t.order_id, t.from_status, t.to_status) AS line
        FROM order_transitions t
        WHERE NOT EXISTS (SELECT 1 FROM unnest($2::text[], $3::text[]) AS legal (f, s)
                          WHERE legal.f = t.from_status AND legal.s = t.to_status)
        ORDER BY t.id LIMIT $1""", (_LEGAL_FROM, _LEGAL_TO)),
    # Each logged move starts where the one before it ended; the first where the order was
    # born (DRAFT; an imported bill DELIVERED).
    ("transition_chain", """
        SELECT count(*) OVER () AS found,
               format('order_transitions %s: order %s moved from %s, but it was %s',
                      id, order_id, from_status, previous) AS line
        FROM (SELECT t.id, t.order_id, t.from_status,
                     lag(t.to_status, 1, order_origin_status(o.source))
                         OVER (PARTITION BY t.order_id ORDER BY t.id) AS previous
              FROM order_transitions t JOIN orders o ON o.id = t.order_id) t
        WHERE from_status <> previous
        ORDER BY id LIMIT $1""", ()),
    ("status_unlogged", """
        SELECT count(*) OVER () AS found,
               format('orders %s (id %s): status %s, %s', o.number, o.id, o.status,
                      CASE WHEN l.to_status IS NULL THEN 'no transition logged'
                           ELSE format('last logged transition to %s', l.to_status)
                      END) AS line
        FROM orders o
        LEFT JOIN (SELECT DISTINCT ON (order_id) order_id, to_status FROM order_transitions
                   ORDER BY order_id, id DESC) l ON l.order_id = o.id
        WHERE o.status <> COALESCE(l.to_status, order_origin_status(o.source))
        ORDER BY o.id LIMIT $1""", ()),
)

# Recomputed in Python rather than SQL (ledger.chain): every entry's hash from its content, and
# each link to the entry before it, streamed in batches; independent of the database's own
# hashing (migration 020), which it checks.
CHAIN = "entry_chain"
_SQL_KINDS = tuple(kind for kind, _, _ in _CHECKS)
_CHAIN_AFTER = _SQL_KINDS.index("entry_meta") + 1
# Also in Python (ledger.score_data): each retailer's kept score record (migration 030), read
# with what changed since, gives the facts their whole history gives, as of the check's moment.
SCORE_FACTS = "score_facts"
KINDS: tuple[str, ...] = (*_SQL_KINDS[:_CHAIN_AFTER], CHAIN, *_SQL_KINDS[_CHAIN_AFTER:],
                          SCORE_FACTS)


async def run(conn: asyncpg.Connection, *, limit: int = DEFAULT_LIMIT) -> CheckResult:
    """Check the whole ledger in one snapshot; at most `limit` lines per kind of break."""
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be 1..{MAX_LIMIT}")
    if conn.is_in_transaction():
        # The caller's transaction is the snapshot (tests check their own uncommitted work).
        return await _run(conn, limit)
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        return await _run(conn, limit)


async def _chains(
    conn: asyncpg.Connection, limit: int, problems: list[Problem], counts: dict[str, int]
) -> None:
    """Every entry's hash and link (ledger.chain.walk): at most `limit` lines, the exact count."""
    found = 0
    async for broken in chain.walk(conn):
        found += 1
        if found <= limit:
            problems.append(Problem(CHAIN, broken.line))
    if found:
        counts[CHAIN] = found


async def _score_facts(
    conn: asyncpg.Connection, limit: int, problems: list[Problem], counts: dict[str, int]
) -> None:
    """Each kept record that can be read (ledger.score_data.gather_one) against `gather`."""
    now = await conn.fetchval("SELECT now()")
    kept = [r["retailer_id"] for r in await conn.fetch(
        "SELECT retailer_id FROM score_facts WHERE as_of <= $1 ORDER BY 1", now)]
    found = 0
    for start in range(0, len(kept), score_data.KEEP_BATCH):
        ids = kept[start:start + score_data.KEEP_BATCH]
        whole = await score_data.gather(conn, ids, now)
        for retailer_id in ids:
            facts = await score_data.kept_facts(conn, retailer_id, now)
            if facts is None or facts == whole.get(retailer_id):
                continue
            found += 1
            if found <= limit:
                problems.append(Problem(SCORE_FACTS, (
                    f"score_facts (retailer {retailer_id}): the kept record and what changed "
                    f"since give other facts than the retailer's history")))
    if found:
        counts[SCORE_FACTS] = found


async def _run(conn: asyncpg.Connection, limit: int) -> CheckResult:
    problems: list[Problem] = []
    counts: dict[str, int] = {}
    for i, (kind, sql, params) in enumerate(_CHECKS):
        if i == _CHAIN_AFTER:
            await _chains(conn, limit, problems, counts)
        rows = await conn.fetch(sql, limit, *params)
        if rows:
            counts[kind] = int(rows[0]["found"])
            problems += [Problem(kind, r["line"]) for r in rows]
    await _score_facts(conn, limit, problems, counts)
    sizes = await conn.fetchrow(
        """SELECT (SELECT count(*) FROM ledger_accounts) AS accounts,
                  (SELECT count(*) FROM ledger_entries) AS entries,
                  (SELECT count(*) FROM orders) AS orders,
                  (SELECT count(*) FROM payments) AS payments,
                  (SELECT count(*) FROM vendor_products) AS stock_rows""")
    assert sizes is not None
    return CheckResult(
        problems=tuple(problems), counts=MappingProxyType(counts), accounts=sizes["accounts"],
        entries=sizes["entries"], orders=sizes["orders"], payments=sizes["payments"],
        stock_rows=sizes["stock_rows"],
    )
