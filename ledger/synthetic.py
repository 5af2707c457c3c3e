"""A synthetic town written straight into an empty database: `khaacho demo --town`, the benchmarks.

Set-based SQL (`generate_series`, deterministic for the same sizes and end day) as the server's
superuser with the triggers off (`session_replication_role = replica`) for the load, in one
transaction, and yet a ledger `khaacho check` passes: every rule the triggers would have kept is
kept by construction, and the entries' hash chains are computed here (in Python, the same
`ledger.chain.content` the check recomputes) and written with the entries.

The town: `retailers` shops (12 areas) each buying from 3 of `vendors` vendors, every vendor
stocking about two thirds of the shared catalog (catalog/data/catalog.csv) at its own price;
`per_day` orders a day for `days` days ending yesterday (Nepal time, 06:00-19:53), 1-5 lines each
of products their vendor stocks. Each order lives its lifecycle, every step logged as the
services would (order_transitions, vendor_assignments, stock_reservations):
  - 4% rejected: offered to one vendor, who refused, and no other could take it;
  - 5% cancelled by the shop while offered (the offer withdrawn);
  - 8% of the rest first refused by another vendor with a reason, then offered again;
  - the rest accepted (billed: an ORDER_CREDIT, stock reserved), dispatched (stock taken) and
    delivered; the last day's orders partly still offered, accepted or dispatched;
  - a delivered bill is paid in full 3-42 days after delivery (a cash/eSewa/bank payment, its
    allocation and a PAYMENT_DEBIT) unless that is still ahead or the shop is one of the 3% that
    never pay; a paid bill is COMPLETED.
Messages (`messages=True`): what the chat would have stored: the shop's order text (from the
catalog's aliases, Latin and Devanagari) and confirm tap, the vendor's accept, dispatch and
deliver taps (inbound_messages, handled); the draft summary, the confirmation, the vendor's
offer, the accepted and delivered notices and the payment receipt (outbox, sent).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from catalog.csvload import load_catalog
from ledger import catalog_store, chain, lifecycle, ranking

AREAS = ("Birendranagar", "Nepalgunj", "Dhangadhi", "Tulsipur", "Ghorahi", "Butwal",
         "Bhairahawa", "Surkhet Bazar", "Mehelkuna", "Chhinchu", "Kohalpur", "")
REASONS = ("out of stock", "too far", "price changed", "closed today", "")
METHODS = ("cash", "esewa", "bank", "khalti", "fonepay")
SEED_ORDERS_PER_DAY = 10_000  # the seed's town (issue 14)
HASH_BATCH = 20_000  # entries hashed per round trip
# Shops' limits stay out of the way: a busy shop owes weeks of bills (1 crore rupees).
CREDIT_LIMIT_PAISA = 10**9
NEPAL = "Asia/Kathmandu"
# Where nearly all the rows go.
BIG_TABLES = ("orders", "order_lines", "order_transitions", "vendor_assignments",
              "stock_reservations", "payments", "payment_allocations", "ledger_entries",
              "inbound_messages", "outbox")
# The tables the load writes (row counts are reported for these).
TABLES = ("users", "retailers", "vendors", "products", "vendor_products", "ledger_accounts",
          "orders", "order_lines", "order_transitions", "vendor_assignments",
          "stock_reservations", "payments", "payment_allocations", "ledger_entries",
          "inbound_messages", "outbox", "vendor_record", "bills_owing")


_STATUS_SQL: dict[str, str] = {status: f"'{status}'" for status in lifecycle.STATUSES}


class NotEmpty(RuntimeError):
    """The synthetic town goes into an empty (migrated) database only."""


@dataclass
class Loaded:
    counts: dict[str, int]
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def total_s(self) -> float:
        return round(sum(self.seconds.values()), 1)


async def load(conn: asyncpg.Connection, *, retailers: int = 1500, vendors: int = 300,
               per_day: int = 10_000, days: int = 30, end: date | None = None,
               messages: bool = True) -> Loaded:
    """Write the town (see the module docstring) into the empty database `conn` is on, as a
    superuser; returns the row counts and how long each stage took."""
    if retailers < 1 or vendors < 3 or per_day < 1 or days < 1:
        raise ValueError("at least 1 retailer, 3 vendors, 1 order a day and 1 day")
    if await conn.fetchval("SELECT EXISTS (SELECT 1 FROM users) OR EXISTS (SELECT 1 FROM orders)"):
        raise NotEmpty("the database already has people or orders: the town needs an empty one")
    last = end or (datetime.now(ZoneInfo(NEPAL)).date() - timedelta(days=1))
    start = last - timedelta(days=days - 1)
    seconds: dict[str, float] = {}
    t = time.perf_counter()
    async with conn.transaction():
        products = load_catalog()
        await catalog_store.import_products(conn, products)
        await _execute(conn, "SET LOCAL session_replication_role = replica")
        await _execute(conn, "SET LOCAL work_mem = '256MB'")
        await _execute(conn, "SET LOCAL maintenance_work_mem = '256MB'")
        await _execute(conn, "SELECT setseed(0.42)")
        await _people(conn, retailers, vendors)
        seconds["people"] = _lap(t)
        t = time.perf_counter()
        # Building an index once is several times cheaper than growing it a row at a time:
        # the big tables' plain indexes go for the load and are built again at its end (those
        # behind constraints stay: the load leans on them).
        rebuild = await _drop_plain_indexes(conn, BIG_TABLES)
        await _orders(conn, retailers, vendors, per_day, days, start)
        seconds["orders"] = _lap(t)
        t = time.perf_counter()
        await _money(conn)
        seconds["money"] = _lap(t)
        t = time.perf_counter()
        await _chain_entries(conn)
        seconds["entries"] = _lap(t)
        if messages:
            t = time.perf_counter()
            await _messages(conn, products)
            seconds["messages"] = _lap(t)
        t = time.perf_counter()
        for definition in rebuild:
            await conn.execute(definition)
        seconds["indexes"] = _lap(t)
        for table in ("users", "orders", "order_transitions", "vendor_assignments",
                      "ledger_accounts", "payments", "ledger_entries", "inbound_messages",
                      "outbox"):
            await _execute(conn, f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                               f"GREATEST((SELECT max(id) FROM {table}), 1))")
        await _execute(conn, "SELECT setval('order_number_seq', $1::bigint)", per_day * days)
    t = time.perf_counter()
    await _execute(conn, "VACUUM (ANALYZE)")
    seconds["vacuum"] = _lap(t)
    counts = {name: int(await conn.fetchval(f"SELECT count(*) FROM {name}")) for name in TABLES}
    return Loaded(counts, seconds)


async def _drop_plain_indexes(conn: asyncpg.Connection, tables: tuple[str, ...]) -> list[str]:
    """Drop the indexes of `tables` no constraint stands on; their definitions, to rebuild."""
    rows = await conn.fetch(
        """SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS definition
           FROM pg_index i
           WHERE i.indrelid = ANY(SELECT t::regclass FROM unnest($1::text[]) t)
             AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
           ORDER BY 1""", list(tables))
    for row in rows:
        await conn.execute(f"DROP INDEX {row['name']}")
    return [row["definition"] for row in rows]


async def _execute(conn: asyncpg.Connection, sql: str, *args: Any) -> None:
    """Run `sql` with its statuses filled in: `{DELIVERED}` is ledger.lifecycle's, quoted (the
    one place statuses are spelt)."""
    await conn.execute(sql.format_map(_STATUS_SQL), *args)


def _lap(t: float) -> float:
    return round(time.perf_counter() - t, 2)


async def _people(conn: asyncpg.Connection, retailers: int, vendors: int) -> None:
    """User 1 is the admin, 2..1+vendors the vendors, then the retailers."""
    await _execute(conn,
        """INSERT INTO users (id, phone, wa_id, name, role, language, created_at)
           SELECT g, '+97798' || lpad(g::text, 8, '0'), '97798' || lpad(g::text, 8, '0'),
                  CASE WHEN g = 1 THEN 'Admin' WHEN g <= 1 + $2 THEN 'Vendor ' || g
                       ELSE 'Shopkeeper ' || g END,
                  CASE WHEN g = 1 THEN 'ADMIN' WHEN g <= 1 + $2 THEN 'VENDOR' ELSE 'RETAILER' END,
                  CASE WHEN g % 3 = 0 THEN 'en' ELSE 'ne' END, now() - interval '2 years'
           FROM generate_series(1, 1 + $2 + $1) g""", retailers, vendors)
    await _execute(conn,
        """INSERT INTO vendors (user_id, shop_name, address)
           SELECT g, 'Vendor ' || g || ' Traders', ($2::text[])[1 + g % 11]
           FROM generate_series(2, 1 + $1) g""", vendors, list(AREAS))
    await _execute(conn,
        """INSERT INTO retailers (user_id, shop_name, address, credit_limit_paisa)
           SELECT g, 'Shop ' || g, ($2::text[])[1 + g % array_length($2::text[], 1)], $4
           FROM generate_series(2 + $1, 1 + $1 + $3) g""", vendors, list(AREAS), retailers,
        CREDIT_LIMIT_PAISA)
    # Each vendor stocks about two thirds of the catalog at 95-105% of the list price; `k`
    # numbers a vendor's products so an order line can pick one of them by arithmetic.
    await _execute(conn,
        """INSERT INTO vendor_products (vendor_id, sku, price_paisa, stock_milli)
           SELECT v, p.sku, GREATEST(1, p.price_paisa * (95 + (v * 7 + p.n) % 11) / 100),
                  1000000000000
           FROM generate_series(2, 1 + $1) v,
                (SELECT sku, price_paisa, row_number() OVER (ORDER BY sku) AS n
                 FROM products) p
           WHERE (v + p.n) % 3 <> 0""", vendors)
    await _execute(conn,
        """CREATE TEMPORARY TABLE town_stock ON COMMIT DROP AS
           SELECT vendor_id, sku, price_paisa,
                  row_number() OVER (PARTITION BY vendor_id ORDER BY sku) AS k,
                  count(*) OVER (PARTITION BY vendor_id) AS n
           FROM vendor_products""")
    await _execute(conn, "CREATE INDEX ON town_stock (vendor_id, k)")


# Order g: its day g / per_day, a shop, one of the shop's three vendors, its fate. Times:
# placed (the draft), confirmed a minute later, offered (again after a refusal), answered.
_SHAPE = """
    CREATE TEMPORARY TABLE town_orders ON COMMIT DROP AS
    WITH base AS (
        SELECT g AS id,
               ($1::date + ((g - 1) / $2::int)::int)::timestamp AT TIME ZONE 'Asia/Kathmandu'
                 + make_interval(secs => 6 * 3600 + ((g * 7919) % 50000)) AS placed,
               (g - 1) / $2::int = $5::int - 1 AS last_day,
               2 + $3::int + (g * 2654435761 % $4::int) AS retailer_id,
               random() AS fate, random() AS bounce, floor(random() * 3)::int AS pick,
               1 + g % 5 AS lines
        FROM generate_series(1::bigint, $2::bigint * $5::bigint) g),
    shaped AS (
        SELECT b.*, 2 + ((b.retailer_id * 7 + b.pick) % $3::int) AS vendor_id,
               2 + ((b.retailer_id * 7 + b.pick + 1) % $3::int) AS other_vendor,
               CASE WHEN b.fate < 0.04 THEN {REJECTED} WHEN b.fate < 0.09 THEN {CANCELLED}
                    WHEN b.last_day AND b.fate < 0.12 THEN {VENDOR_ASSIGNED}
                    WHEN b.last_day AND b.fate < 0.30 THEN {ACCEPTED}
                    WHEN b.last_day AND b.fate < 0.50 THEN {DISPATCHED}
                    ELSE {DELIVERED} END AS reached,
               b.fate >= 0.09 AND b.bounce < 0.08 AS bounced,
               b.placed + interval '1 minute' AS confirmed
        FROM base b)
    SELECT s.*,
           s.confirmed + CASE WHEN s.bounced THEN interval '5 minutes' ELSE interval '0' END
               AS offered,
           s.confirmed + CASE WHEN s.bounced THEN interval '5 minutes' ELSE interval '0' END
               + make_interval(secs => 300 + (s.id % 3600)) AS answered
    FROM shaped s"""

_LINES = """
    INSERT INTO order_lines (order_id, line_no, sku, quantity_milli, unit_text, unit_price_paisa,
                             line_total_paisa)
    SELECT o.id, l, st.sku, q.milli, p.unit, st.price_paisa,
           (q.milli * st.price_paisa + 500) / 1000
    FROM town_orders o
    CROSS JOIN LATERAL generate_series(1, o.lines) l
    CROSS JOIN LATERAL (SELECT 1000 * (1 + (o.id + l) % 10) AS milli) q
    JOIN town_stock st ON st.vendor_id = o.vendor_id
                      AND st.k = 1 + (o.id * 7 + l - 1) % st.n
    JOIN products p ON p.sku = st.sku"""

# Where each order ended up, with its times. Billed orders were accepted when answered,
# dispatched 2 h and delivered 6 h later; a delivered bill is paid 3-42 days after, when that
# is already past (3% never pay).
_FINAL = """
    CREATE TEMPORARY TABLE town_final ON COMMIT DROP AS
    SELECT o.id, o.retailer_id, o.vendor_id, o.other_vendor, o.placed, o.confirmed, o.offered,
           o.answered, o.bounced, o.fate,
           CASE WHEN o.reached = {DELIVERED} AND o.fate < 0.97 AND paid < now() THEN {COMPLETED}
                ELSE o.reached END AS status,
           CASE WHEN o.reached IN ({ACCEPTED}, {DISPATCHED}, {DELIVERED}) THEN o.answered END
               AS accepted,
           CASE WHEN o.reached IN ({DISPATCHED}, {DELIVERED}) THEN o.answered + interval '2 hours'
           END AS dispatched,
           CASE WHEN o.reached = {DELIVERED} THEN o.answered + interval '6 hours' END AS delivered,
           CASE WHEN o.reached = {DELIVERED} AND o.fate < 0.97 AND paid < now() THEN paid END
               AS paid,
           t.total
    FROM (SELECT *, answered + interval '6 hours' + make_interval(days => 3 + (id % 40)::int)
                    AS paid
          FROM town_orders) o
    JOIN (SELECT order_id, sum(line_total_paisa) AS total FROM order_lines GROUP BY order_id) t
      ON t.order_id = o.id"""

_ORDERS = """
    INSERT INTO orders (id, number, status, retailer_id, vendor_id, total_paisa, created_at,
                        updated_at, confirmed_at, accepted_at, due_at, dispatched_at,
                        delivered_at, closed_at)
    SELECT id, padded_number('KH-', id), status, retailer_id,
           CASE WHEN status = {REJECTED} THEN NULL ELSE vendor_id END, total, placed,
           COALESCE(paid, delivered, dispatched, accepted,
                    CASE WHEN status = {VENDOR_ASSIGNED} THEN offered END, answered),
           confirmed, accepted, accepted + interval '30 days', dispatched, delivered,
           CASE WHEN status = {COMPLETED} THEN paid
                WHEN status IN ({CANCELLED}, {REJECTED}) THEN answered END
    FROM town_final ORDER BY id"""

# Every step each order took, in the order it took them (seq), as lifecycle.move logs them.
_STEPS = """
    CREATE TEMPORARY TABLE town_steps ON COMMIT DROP AS
    SELECT f.id AS order_id, s.seq, s.from_status, s.to_status, s.actor_id, s.reason, s.at
    FROM town_final f
    CROSS JOIN LATERAL (VALUES
        (1, {DRAFT}, {PENDING}, f.retailer_id, '', f.confirmed, true),
        (2, {PENDING}, {VENDOR_ASSIGNED}, NULL::bigint, '', f.confirmed,
         f.bounced OR f.status = {REJECTED}),
        (3, {VENDOR_ASSIGNED}, {PENDING}, f.other_vendor,
         ($1::text[])[1 + f.id % array_length($1::text[], 1)],
         f.confirmed + interval '4 minutes', f.bounced OR f.status = {REJECTED}),
        (4, {PENDING}, {REJECTED}, NULL, 'no vendor can fulfil it',
         f.answered, f.status = {REJECTED}),
        (5, {PENDING}, {VENDOR_ASSIGNED}, NULL, '', f.offered, f.status <> {REJECTED}),
        (6, {VENDOR_ASSIGNED}, {CANCELLED}, f.retailer_id, '', f.answered,
         f.status = {CANCELLED}),
        (7, {VENDOR_ASSIGNED}, {ACCEPTED}, f.vendor_id, '', f.accepted, f.accepted IS NOT NULL),
        (8, {ACCEPTED}, {DISPATCHED}, f.vendor_id, '', f.dispatched, f.dispatched IS NOT NULL),
        (9, {DISPATCHED}, {DELIVERED}, f.vendor_id, '', f.delivered, f.delivered IS NOT NULL),
        (10, {DELIVERED}, {COMPLETED}, f.vendor_id, '', f.paid, f.paid IS NOT NULL)
    ) AS s (seq, from_status, to_status, actor_id, reason, at, taken)
    WHERE s.taken"""


async def _orders(conn: asyncpg.Connection, retailers: int, vendors: int, per_day: int,
                  days: int, start: date) -> None:
    await _execute(conn, _SHAPE, start, per_day, vendors, retailers, days)
    await _execute(conn, _LINES)
    await _execute(conn, _FINAL)
    await _execute(conn, "CREATE UNIQUE INDEX ON town_final (id)")
    await _execute(conn, _ORDERS)
    await _execute(conn, _STEPS, list(REASONS))
    await _execute(conn,
        """INSERT INTO order_transitions (id, order_id, from_status, to_status, actor_id, reason,
                                          at)
           SELECT row_number() OVER (ORDER BY at, order_id, seq), order_id, from_status,
                  to_status, actor_id, reason, at
           FROM town_steps ORDER BY at, order_id, seq""")
    # Offers: the refusing vendor first, then the one that answered (or is still to answer).
    await _execute(conn,
        """INSERT INTO vendor_assignments (order_id, vendor_id, offered_at, answered_at, outcome,
                                           reason)
           SELECT id, other_vendor, confirmed, confirmed + interval '4 minutes', {REJECTED},
                  ($1::text[])[1 + id % array_length($1::text[], 1)]
           FROM town_final WHERE bounced OR status = {REJECTED}
           UNION ALL
           SELECT id, vendor_id, offered,
                  CASE WHEN status <> {VENDOR_ASSIGNED} THEN answered END,
                  CASE WHEN status = {VENDOR_ASSIGNED} THEN 'OFFERED'
                       WHEN status = {CANCELLED} THEN 'WITHDRAWN' ELSE {ACCEPTED} END, ''
           FROM town_final WHERE status <> {REJECTED}
           ORDER BY 3, 1""", list(REASONS))
    # Stock: held from acceptance, taken at dispatch.
    await _execute(conn,
        """INSERT INTO stock_reservations (order_id, vendor_id, sku, quantity_milli, state,
                                           created_at, settled_at)
           SELECT f.id, f.vendor_id, l.sku, l.quantity_milli,
                  CASE WHEN f.dispatched IS NULL THEN 'RESERVED' ELSE 'TAKEN' END,
                  f.accepted, f.dispatched
           FROM town_final f JOIN order_lines l ON l.order_id = f.id
           WHERE f.accepted IS NOT NULL ORDER BY f.accepted, f.id, l.sku""")
    await _execute(conn,
        """UPDATE vendor_products vp SET reserved_milli = r.held
           FROM (SELECT vendor_id, sku, sum(quantity_milli) AS held FROM stock_reservations
                 WHERE state = 'RESERVED' GROUP BY vendor_id, sku) r
           WHERE (vp.vendor_id, vp.sku) = (r.vendor_id, r.sku)""")
    # What migration 026's triggers would have counted (they are off for the load), in one
    # pass over each table: the vendor indexes are off for the load too.
    await _execute(conn,
        """INSERT INTO vendor_record (vendor_id, failures, fulfilled)
           SELECT v.user_id, COALESCE(a.n, 0), COALESCE(f.n, 0)
           FROM vendors v
           LEFT JOIN (SELECT vendor_id, count(*) AS n FROM vendor_assignments
                      WHERE outcome = ANY($1::text[]) GROUP BY vendor_id) a
                  ON a.vendor_id = v.user_id
           LEFT JOIN (SELECT vendor_id, count(*) AS n FROM town_final
                      WHERE status = ANY($2::text[]) GROUP BY vendor_id) f
                  ON f.vendor_id = v.user_id""",
        list(ranking.FAILED_OUTCOMES), list(ranking.RECORD_STATUSES))
    await _execute(conn,
        """INSERT INTO ledger_accounts (retailer_id, vendor_id, created_at)
           SELECT retailer_id, vendor_id, min(placed) FROM town_final
           WHERE accepted IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2""")


async def _money(conn: asyncpg.Connection) -> None:
    """Payments, their allocations, and the entries (unhashed, in town_entries)."""
    await _execute(conn,
        """INSERT INTO payments (id, retailer_id, vendor_id, amount_paisa, method, reference,
                                 recorded_by, idempotency_key, received_at)
           SELECT row_number() OVER (ORDER BY paid, id), retailer_id, vendor_id, total,
                  ($1::text[])[1 + id % array_length($1::text[], 1)], '', vendor_id,
                  'town:pay:' || id, paid
           FROM town_final WHERE paid IS NOT NULL ORDER BY paid, id""", list(METHODS))
    await _execute(conn,
        """INSERT INTO payment_allocations (payment_id, order_id, amount_paisa)
           SELECT p.id, substr(p.idempotency_key, 10)::bigint, p.amount_paisa
           FROM payments p ORDER BY p.id""")
    await _execute(conn,
        """CREATE TEMPORARY TABLE town_moves ON COMMIT DROP AS
           SELECT a.id AS account_id, 'ORDER_CREDIT' AS kind, f.total AS amount, f.id AS order_id,
                  NULL::bigint AS payment_id, f.accepted AS at,
                  'order:' || f.id || ':credit' AS key, f.vendor_id AS actor
           FROM town_final f JOIN ledger_accounts a
             ON (a.retailer_id, a.vendor_id) = (f.retailer_id, f.vendor_id)
           WHERE f.accepted IS NOT NULL
           UNION ALL
           SELECT a.id, 'PAYMENT_DEBIT', -p.amount_paisa, NULL, p.id, p.received_at,
                  p.idempotency_key || ':debit', p.recorded_by
           FROM payments p JOIN ledger_accounts a
             ON (a.retailer_id, a.vendor_id) = (p.retailer_id, p.vendor_id)""")
    # One order for both numberings, so ids and each account's versions rise together.
    await _execute(conn,
        """CREATE TEMPORARY TABLE town_entries ON COMMIT DROP AS
           SELECT row_number() OVER (ORDER BY at, kind, order_id, payment_id) AS id,
                  account_id,
                  row_number() OVER w AS account_version, kind, amount,
                  sum(amount) OVER w AS balance_after, order_id, payment_id, key, actor, at
           FROM town_moves
           WINDOW w AS (PARTITION BY account_id ORDER BY at, kind, order_id, payment_id)""")
    # What migration 030's triggers would have kept (they are off for the load): each billed
    # order with something still owed.
    await _execute(conn,
        """INSERT INTO bills_owing (order_id, retailer_id, vendor_id, accepted_at, due_at,
                                    owing_paisa)
           SELECT o.id, o.retailer_id, o.vendor_id, o.accepted_at, o.due_at,
                  o.total_paisa - COALESCE(a.paid, 0)
           FROM orders o
           LEFT JOIN (SELECT pa.order_id, sum(pa.amount_paisa) AS paid
                      FROM payment_allocations pa
                      JOIN payments p ON p.id = pa.payment_id AND NOT p.reversed
                      GROUP BY pa.order_id) a ON a.order_id = o.id
           WHERE o.status = ANY($1::text[]) AND o.total_paisa > COALESCE(a.paid, 0)
           ORDER BY o.id""", list(lifecycle.BILLED_STATUSES))
    await _execute(conn, "CREATE UNIQUE INDEX ON town_entries (id)")
    await _execute(conn,
        """UPDATE ledger_accounts a SET balance_paisa = s.balance, version = s.version,
                                        updated_at = s.at
           FROM (SELECT account_id, sum(amount) AS balance, count(*) AS version, max(at) AS at
                 FROM town_entries GROUP BY account_id) s
           WHERE s.account_id = a.id""")


async def _chain_entries(conn: asyncpg.Connection) -> None:
    """Hash every account's entries in version order (ledger.chain, the bytes the check
    recomputes), then write the entries in id order, as they would have been posted."""
    await _execute(conn,
        """CREATE TEMPORARY TABLE town_hashes (id bigint, prev_hash bytea, entry_hash bytea)
           ON COMMIT DROP""")
    cursor = await conn.cursor(
        """SELECT e.id, e.account_id, a.retailer_id, a.vendor_id, e.account_version, e.kind,
                  e.amount AS amount_paisa, e.balance_after AS balance_after_paisa, e.order_id,
                  e.payment_id, NULL::bigint AS reverses_entry_id, e.actor AS actor_id,
                  e.actor AS stated_by, NULL::bigint AS acknowledged_by, 'live' AS source,
                  e.at AS happened_at, e.at AS created_at, '' AS reason,
                  e.key AS idempotency_key, sha256(convert_to(e.key, 'UTF8')) AS request_hash
           FROM town_entries e JOIN ledger_accounts a ON a.id = e.account_id
           ORDER BY e.account_id, e.account_version""")
    account = None
    prev: bytes | None = None
    while rows := await cursor.fetch(HASH_BATCH):
        out = []
        for row in rows:
            if row["account_id"] != account:
                account, prev = row["account_id"], None
            values = dict(row)
            values["prev_hash"] = prev
            digest = chain.entry_hash(values)
            out.append((row["id"], prev, digest))
            prev = digest
        await conn.copy_records_to_table("town_hashes", records=out)
    await _execute(conn, "CREATE UNIQUE INDEX ON town_hashes (id)")
    await _execute(conn,
        """INSERT INTO ledger_entries (id, account_id, account_version, kind, amount_paisa,
                                       balance_after_paisa, order_id, payment_id,
                                       idempotency_key, request_hash, actor_id, stated_by,
                                       created_at, happened_at, source, prev_hash, entry_hash)
           SELECT e.id, e.account_id, e.account_version, e.kind, e.amount, e.balance_after,
                  e.order_id, e.payment_id, e.key, sha256(convert_to(e.key, 'UTF8')), e.actor,
                  e.actor, e.at, e.at, 'live', h.prev_hash, h.entry_hash
           FROM town_entries e JOIN town_hashes h USING (id) ORDER BY e.id""")


def _phrases(products: list[Any]) -> list[str]:
    """Order texts as shops type them: a quantity, a unit or pack word and an alias, in both
    scripts (the Devanagari name for every third)."""
    out = []
    for i, p in enumerate(products):
        word = p.name_ne if i % 3 == 0 else (p.aliases[0] if p.aliases else p.name_en)
        pack = next(iter(p.packs), p.unit)
        other = products[(i * 7 + 3) % len(products)]
        out.append(f"{1 + i % 4} {pack} {word}, {2 + i % 5} {other.unit} "
                   f"{other.aliases[-1] if other.aliases else other.name_en}")
    return out


# What each step of an order stored, in the order it happened. `who`: r (the shop) or v (its
# vendor); inbound steps are the person's messages, outbound ones our replies (replying to the
# inbound step `reply_to`).
_INBOUND_STEPS = """
    SELECT f.id AS order_id, s.step, s.at, CASE WHEN s.who = 'r' THEN f.retailer_id
                                               ELSE f.vendor_id END AS user_id, s.kind
    FROM town_final f
    CROSS JOIN LATERAL (VALUES
        (1, 'r', 'text', f.placed, true),
        (2, 'r', 'interactive', f.confirmed, true),
        (3, 'v', 'interactive', f.accepted, f.accepted IS NOT NULL),
        (4, 'v', 'interactive', f.dispatched, f.dispatched IS NOT NULL),
        (5, 'v', 'interactive', f.delivered, f.delivered IS NOT NULL)
    ) AS s (step, who, kind, at, taken)
    WHERE s.taken"""

_OUTBOUND_STEPS = """
    SELECT f.id AS order_id, s.step, s.at, s.reply_to,
           CASE WHEN s.who = 'r' THEN f.retailer_id ELSE f.vendor_id END AS user_id, s.body
    FROM town_final f
    CROSS JOIN LATERAL (VALUES
        (1, 'r', f.placed + interval '2 seconds', 1,
         'Your order KH-' || f.id || ': ' || f.total / 100 || ' rupees. Confirm?', true),
        (2, 'r', f.confirmed + interval '2 seconds', 2,
         'Order KH-' || f.id || ' placed; we are asking a vendor.', true),
        (3, 'v', f.offered, 2, 'New order KH-' || f.id || ' for ' || f.total / 100
         || ' rupees. Accept?', f.status <> {REJECTED}),
        (4, 'r', f.accepted + interval '2 seconds', 3,
         'Order KH-' || f.id || ' accepted; it is on your account.', f.accepted IS NOT NULL),
        (5, 'r', f.delivered + interval '2 seconds', 5,
         'Order KH-' || f.id || ' delivered.', f.delivered IS NOT NULL),
        (6, 'r', f.paid, NULL, 'Payment of ' || f.total / 100 || ' rupees received. Thank you.',
         f.paid IS NOT NULL)
    ) AS s (step, who, at, reply_to, body, taken)
    WHERE s.taken"""


async def _messages(conn: asyncpg.Connection, products: list[Any]) -> None:
    # The wamids (Meta's are opaque) rise with the ids, so the load appends to their unique
    # indexes rather than inserting at random: a denser index than a live one (README: the
    # bytes per message are measured after this load).
    await _execute(conn,
        f"""CREATE TEMPORARY TABLE town_inbound ON COMMIT DROP AS
            SELECT row_number() OVER (ORDER BY at, order_id, step) AS id, *
            FROM ({_INBOUND_STEPS}) s""")
    await _execute(conn, "CREATE UNIQUE INDEX ON town_inbound (order_id, step)")
    await _execute(conn,
        """INSERT INTO inbound_messages (id, wamid, sender, wa_id, profile_name, kind, body,
                                         sent_at, received_at, handled_at, attempts, handled_as)
           SELECT i.id, w.wamid, u.wa_id, u.wa_id, u.name, i.kind,
                  jsonb_build_object(
                      'from', u.wa_id, 'id', w.wamid, 'timestamp',
                      extract(epoch FROM i.at)::bigint::text, 'type', i.kind,
                      CASE WHEN i.kind = 'text' THEN 'text' ELSE 'interactive' END,
                      CASE WHEN i.kind = 'text' THEN jsonb_build_object(
                               'body', ($1::text[])[1 + i.order_id % array_length($1::text[], 1)])
                           ELSE jsonb_build_object('type', 'button_reply', 'button_reply',
                               jsonb_build_object('id', 'o:' || i.order_id || ':' || i.step,
                                                  'title', 'OK')) END),
                  i.at, i.at + interval '300 milliseconds', i.at + interval '1 second', 1,
                  NULL
           FROM town_inbound i JOIN users u ON u.id = i.user_id
           CROSS JOIN LATERAL (SELECT 'wamid.HBgM' || lpad(i.id::text, 10, '0')
                                      || upper(substr(md5('in' || i.id), 1, 24)) AS wamid) w
           ORDER BY i.id""", _phrases(products))
    await _execute(conn,
        f"""INSERT INTO outbox (id, recipient, payload, inbound_id, status, attempts,
                                next_attempt_at, wamid, created_at, sent_at)
            SELECT row_number() OVER (ORDER BY o.at, o.order_id, o.step), u.wa_id,
                   jsonb_build_object('messaging_product', 'whatsapp', 'type', 'text',
                                      'text', jsonb_build_object('body', o.body)),
                   i.id, 'sent', 1, o.at,
                   'wamid.HBgN' || lpad((row_number() OVER (ORDER BY o.at, o.order_id, o.step)
                                        )::text, 10, '0')
                   || upper(substr(md5('out' || o.order_id || ':' || o.step), 1, 24)),
                   o.at, o.at + interval '400 milliseconds'
            FROM ({_OUTBOUND_STEPS}) o
            JOIN users u ON u.id = o.user_id
            LEFT JOIN town_inbound i ON (i.order_id, i.step) = (o.order_id, o.reply_to)
            ORDER BY o.at, o.order_id, o.step""")
