-- Analytics: summary tables the pages and the API read, so no page view scans the orders or
-- the ledger (a year of the target town is 3.65 million orders).
--
-- Why tables the app writes, not materialized views: REFRESH MATERIALIZED VIEW needs the view's
-- owner, and the app's role owns nothing (README "Database roles"); a SECURITY DEFINER refresh
-- function would hand the app a door into the owner's rights for the sake of derived numbers.
-- Whole-view refreshes also recompute a year to add one day. So `ledger.analytics.refresh`
-- (the periodic job, and `khaacho analytics refresh [--full]`) recomputes, as the app, only the
-- Nepal days that changed: the days on which the orders were placed whose log (order_transitions,
-- append-only, ids only grow) has rows past the last refresh's watermark. Every later change of
-- an order (accepted, rejected, passed on, dispatched, delivered, cancelled) is such a row, so
-- a day is recomputed whenever anything about its orders moved. The watermark is re-read with an
-- overlap (ids handed out by a transaction that committed after the last refresh looked), and
-- a day is recomputed whole (DELETE its rows, INSERT them afresh in the same transaction), so
-- running it twice changes nothing. These tables hold only numbers derived from the ledger;
-- they can be rebuilt at any time with --full, so the app may DELETE from them (ledger/roles.py).
--
-- Grain and keys. A row's `day` is the Nepal day the order was confirmed (placed); drafts and
-- imported bills (never placed here) are not counted. NULL in vendor_id or area means "all"
-- (every vendor, every area): the town's totals are rows of their own, so the town's year is
-- 365 rows, not a scan of every vendor's. Keys are UNIQUE NULLS NOT DISTINCT (PostgreSQL 15)
-- with the filter columns first, so a page reads one index range; they INCLUDE the counted
-- columns, so that range is read from the index alone. An area is the retailer's
-- address as registered (trimmed; '' when none was given).
--
-- Points. Every row also says its `grain`: 'day' rows are computed from the orders; 'week'
-- (Sunday to Saturday, as weeks run in Nepal) and 'month' rows are sums of a whole bucket's day
-- rows (`day` is then the bucket's first day), recomputed with any of its days. So a year by
-- month is 12 rows, whatever the town's size, and a series' points are whole weeks or months.
-- Retailer rows summed per bucket stay one per retailer, so "shops that ordered this month" is
-- a count of rows, not a DISTINCT over a month of days.
--
-- A refresh that finds more changed days than it takes in one run (the first one, say, on a
-- year of orders) keeps the rest in analytics_pending for the next runs: the periodic job stays
-- short, and the watermark never skips a day.
--
-- Snapshots (overdue by age, score distribution) are as of the refresh, one set of rows per
-- Nepal day (today's replaced by each refresh), so earlier days stay as history.

CREATE TABLE analytics_orders (
    grain          text NOT NULL DEFAULT 'day' CHECK (grain IN ('day', 'week', 'month')),
    day               date NOT NULL,
    vendor_id         bigint,            -- NULL: all vendors (and orders no vendor took)
    area              text,              -- NULL: all areas
    orders            integer NOT NULL CHECK (orders >= 0),     -- placed (confirmed)
    value_paisa       bigint NOT NULL CHECK (value_paisa >= 0),
    accepted          integer NOT NULL CHECK (accepted >= 0),   -- billed (accepted at some point)
    dispatched        integer NOT NULL CHECK (dispatched >= 0),
    delivered         integer NOT NULL CHECK (delivered >= 0),
    rejected          integer NOT NULL CHECK (rejected >= 0),   -- no vendor would take it
    cancelled         integer NOT NULL CHECK (cancelled >= 0),
    accept_seconds    bigint NOT NULL DEFAULT 0,  -- sums: placed -> accepted, over `accepted`
    dispatch_seconds  bigint NOT NULL DEFAULT 0,  -- accepted -> dispatched, over `dispatched`
    deliver_seconds   bigint NOT NULL DEFAULT 0,  -- dispatched -> delivered, over `delivered`
    CONSTRAINT analytics_orders_key UNIQUE NULLS NOT DISTINCT (vendor_id, area, grain, day)
        INCLUDE (orders, value_paisa, accepted, delivered, rejected, cancelled)
);
CREATE INDEX analytics_orders_day ON analytics_orders (grain, day);

-- Every offer of an order to a vendor, by the day the order was placed, and how it ended.
CREATE TABLE analytics_offers (
    grain          text NOT NULL DEFAULT 'day' CHECK (grain IN ('day', 'week', 'month')),
    day             date NOT NULL,
    vendor_id       bigint,              -- NULL: all vendors
    offered         integer NOT NULL CHECK (offered >= 0),
    accepted        integer NOT NULL CHECK (accepted >= 0),
    rejected        integer NOT NULL CHECK (rejected >= 0),
    expired         integer NOT NULL CHECK (expired >= 0),
    answered        integer NOT NULL CHECK (answered >= 0),   -- accepted or rejected
    answer_seconds  bigint NOT NULL DEFAULT 0,                -- offered -> answered, summed
    CONSTRAINT analytics_offers_key UNIQUE NULLS NOT DISTINCT (vendor_id, grain, day)
        INCLUDE (offered, accepted, rejected, expired)
);
CREATE INDEX analytics_offers_day ON analytics_offers (grain, day);

-- Why vendors rejected: the reason as typed, lower-cased and trimmed ('' when none was given).
CREATE TABLE analytics_rejections (
    grain          text NOT NULL DEFAULT 'day' CHECK (grain IN ('day', 'week', 'month')),
    day        date NOT NULL,
    vendor_id  bigint,
    reason     text NOT NULL CHECK (length(reason) <= 80),
    offers     integer NOT NULL CHECK (offers > 0),
    CONSTRAINT analytics_rejections_key UNIQUE NULLS NOT DISTINCT (vendor_id, grain, day, reason)
        INCLUDE (offers)
);
CREATE INDEX analytics_rejections_day ON analytics_rejections (grain, day);

-- What sold: lines of billed orders (accepted, and not cancelled since).
CREATE TABLE analytics_products (
    grain          text NOT NULL DEFAULT 'day' CHECK (grain IN ('day', 'week', 'month')),
    day             date NOT NULL,
    vendor_id       bigint,
    area            text,
    sku             text NOT NULL,
    orders          integer NOT NULL CHECK (orders > 0),
    quantity_milli  bigint NOT NULL CHECK (quantity_milli >= 0),
    value_paisa     bigint NOT NULL CHECK (value_paisa >= 0),
    CONSTRAINT analytics_products_key UNIQUE NULLS NOT DISTINCT (vendor_id, area, grain, day, sku)
        INCLUDE (orders, quantity_milli, value_paisa)
);
CREATE INDEX analytics_products_day ON analytics_products (grain, day);

-- Each retailer's placed orders a day (town-wide, and with each vendor).
CREATE TABLE analytics_retailers (
    grain          text NOT NULL DEFAULT 'day' CHECK (grain IN ('day', 'week', 'month')),
    day          date NOT NULL,
    vendor_id    bigint,
    retailer_id  bigint NOT NULL,
    orders       integer NOT NULL CHECK (orders > 0),
    value_paisa  bigint NOT NULL CHECK (value_paisa >= 0),
    lines        integer NOT NULL CHECK (lines >= 0),
    CONSTRAINT analytics_retailers_key UNIQUE NULLS NOT DISTINCT (vendor_id, grain, day, retailer_id)
        INCLUDE (orders, value_paisa, lines)
);
CREATE INDEX analytics_retailers_day ON analytics_retailers (grain, day);
CREATE INDEX analytics_retailers_retailer ON analytics_retailers (retailer_id, grain, day)
    WHERE vendor_id IS NULL;

-- Shops that ordered per point, with their orders, value and lines: counted from
-- analytics_retailers when it is recomputed, so a series reads one row per point.
CREATE TABLE analytics_activity (
    grain        text NOT NULL CHECK (grain IN ('day', 'week', 'month')),
    day          date NOT NULL,
    vendor_id    bigint,
    active       integer NOT NULL CHECK (active > 0),
    orders       integer NOT NULL CHECK (orders > 0),
    value_paisa  bigint NOT NULL CHECK (value_paisa >= 0),
    lines        integer NOT NULL CHECK (lines >= 0),
    CONSTRAINT analytics_activity_key UNIQUE NULLS NOT DISTINCT (vendor_id, grain, day)
        INCLUDE (active, orders, value_paisa, lines)
);
CREATE INDEX analytics_activity_day ON analytics_activity (grain, day);

-- Shops that stopped ordering, as of the day's last refresh: at least a few orders in a window
-- before the last quiet days, none since (ledger/analytics.py says how many and how long).
CREATE TABLE analytics_lapsed (
    day          date NOT NULL,
    vendor_id    bigint,
    retailer_id  bigint NOT NULL,
    last_day     date NOT NULL,
    orders       integer NOT NULL CHECK (orders > 0),
    value_paisa  bigint NOT NULL CHECK (value_paisa >= 0),
    CONSTRAINT analytics_lapsed_key UNIQUE NULLS NOT DISTINCT (vendor_id, day, retailer_id)
);

-- What is owed past its due date, by days overdue, as of the day's last refresh.
CREATE TABLE analytics_overdue (
    day                date NOT NULL,
    vendor_id          bigint,
    bucket             text NOT NULL CHECK (bucket IN ('not_due', '1-30', '31-60', '61-90', '90+')),
    outstanding_paisa  bigint NOT NULL CHECK (outstanding_paisa >= 0),
    bills              integer NOT NULL CHECK (bills >= 0),
    retailers          integer NOT NULL CHECK (retailers >= 0),
    CONSTRAINT analytics_overdue_key UNIQUE NULLS NOT DISTINCT (vendor_id, day, bucket)
);

-- Retailers by credit score (ledger.score, 50-point steps; low = -1: no score yet), town-wide
-- and per vendor (the retailers with an account with them), as of the day's last refresh.
CREATE TABLE analytics_scores (
    day        date NOT NULL,
    vendor_id  bigint,
    low        integer NOT NULL CHECK (low = -1 OR low BETWEEN 300 AND 900),
    band       text NOT NULL CHECK (band IN ('A', 'B', 'C', 'D', 'E', '')),
    retailers  integer NOT NULL CHECK (retailers > 0),
    CONSTRAINT analytics_scores_key UNIQUE NULLS NOT DISTINCT (vendor_id, day, low, band)
);

-- Days found changed and not yet recomputed (see "Points").
CREATE TABLE analytics_pending (
    day  date PRIMARY KEY
);

-- The refresh's own state: one row.
CREATE TABLE analytics_refresh (
    id                  boolean PRIMARY KEY DEFAULT true CHECK (id),
    last_transition_id  bigint NOT NULL DEFAULT 0,
    refreshed_at        timestamptz,
    scores_at           timestamptz,                  -- the last score distribution's time
    days                integer NOT NULL DEFAULT 0,   -- days recomputed by the last run
    seconds             real NOT NULL DEFAULT 0
);
INSERT INTO analytics_refresh DEFAULT VALUES;

-- The refresh finds a day's orders by when they were placed.
CREATE INDEX orders_confirmed ON orders (confirmed_at) WHERE confirmed_at IS NOT NULL;
