"""The database's two roles: the owner, which migrates, and the app, which only reads and writes.

The owner owns every table, so it alone could switch the financial triggers off (ALTER TABLE ...
DISABLE TRIGGER); the app's role owns nothing, may not create anything, and holds per table only
the writes its services make: no DELETE on any financial table, no TRUNCATE anywhere. Every
`khaacho migrate` grants those privileges afresh (`grant_app`, idempotent), so a new table or a
renamed app role is covered by the next run; default privileges cover a table created in between.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from types import MappingProxyType

import asyncpg

log = logging.getLogger(__name__)

# The names the embedded server and the tests give the roles. A managed PostgreSQL may use any
# names: the app's role is whoever DATABASE_URL logs in as, the owner whoever
# MIGRATE_DATABASE_URL does (README: Database roles).
OWNER_ROLE = "khaacho_owner"
APP_ROLE = "khaacho_app"

# What the app may do to each table besides SELECT, which it has on all of them. Column lists
# narrow an UPDATE to what the services change; the triggers of migration 013 then allow only
# the legal changes of those columns. A table missing here gets DEFAULT_WRITES and a warning.
APP_WRITES: Mapping[str, str] = MappingProxyType({
    # The channel.
    # Message retention moves old rows to the archives (ledger.message_archive).
    "inbound_messages": "INSERT, UPDATE, DELETE",
    "outbox": "INSERT, UPDATE, DELETE",
    "inbound_messages_archive": "INSERT",
    "outbox_archive": "INSERT",
    "message_statuses": "INSERT, UPDATE",
    "webhook_quarantine": "INSERT",
    "inbound_senders": "INSERT, UPDATE",   # who was served last (fair inbox), floods
    "outbox_documents": "INSERT, UPDATE (media_id, uploaded_at), DELETE",
    # People, conversations, the catalog.
    "users": "INSERT, UPDATE",
    "retailers": "INSERT, UPDATE",
    "vendors": "INSERT, UPDATE",
    "registrations": "INSERT, UPDATE",
    "conversations": "INSERT, UPDATE",
    "remembered_choices": "INSERT, UPDATE",
    "products": "INSERT, UPDATE",
    "product_aliases": "INSERT, DELETE",   # a catalog import replaces a product's aliases
    "catalog_version": "UPDATE (version)",  # set by the trigger on every write to the two above
    "vendor_products": "INSERT, UPDATE",
    "vendor_assignments": "INSERT, UPDATE",
    "vendor_record": "INSERT, UPDATE",     # kept by triggers as offers and orders move (026)
    # Orders and money.
    "orders": "INSERT, UPDATE",
    "order_lines": "INSERT, DELETE",       # editing a draft replaces its lines (DRAFT only)
    "order_transitions": "INSERT",
    "stock_reservations": "INSERT, UPDATE (state, settled_at)",
    "ledger_accounts": "INSERT, UPDATE (balance_paisa, version, updated_at)",
    "ledger_entries": "INSERT",
    "payments": "INSERT, UPDATE (reversed)",
    "payment_allocations": "INSERT",
    # Kept by 030's triggers as allocations are posted and payments reversed; a guard refuses
    # the app's own writes.
    "bills_owing": "INSERT, UPDATE, DELETE",
    # A retailer's settled record, kept with the analytics refresh's scores (ledger.score_data).
    "score_facts": "INSERT, UPDATE",
    "credit_overrides": "INSERT",
    "audit_log": "INSERT",
    # Collecting: claims and disputes change only as their guards (016) allow; a vendor may
    # drop a way of being paid.
    "payment_claims": "INSERT, UPDATE (status, payment_id, decided_by, decided_at)",
    "disputes": "INSERT, UPDATE (status, resolved_by, resolved_at, resolution)",
    "order_receipts": "INSERT",
    "vendor_payment_details": "INSERT, UPDATE, DELETE",
    "reminder_log": "INSERT",
    "reminder_bills": "INSERT",
    "khata_import_rows": "INSERT",         # what each imported book said; append-only
    # Bank reports (021): what the retailer agreed to is kept; only revoked once, first viewed.
    "bank_reports": "INSERT, UPDATE (revoked_at, revoked_by, first_viewed_at)",
    "bank_report_views": "INSERT",
    # Suggested credit limits (022): decided once by staff, or superseded; the daily review's
    # progress.
    "limit_suggestions": "INSERT, UPDATE (status, decided_by, decided_at)",
    "limit_review_rounds": "INSERT, UPDATE (after_retailer_id, finished_at)",
    # Analytics (024): numbers derived from the orders, recomputed a day at a time (DELETE and
    # INSERT) by ledger.analytics.refresh; rebuilt whole by `khaacho analytics refresh --full`.
    "analytics_orders": "INSERT, DELETE",
    "analytics_offers": "INSERT, DELETE",
    "analytics_rejections": "INSERT, DELETE",
    "analytics_products": "INSERT, DELETE",
    "analytics_retailers": "INSERT, DELETE",
    "analytics_activity": "INSERT, DELETE",
    "analytics_lapsed": "INSERT, DELETE",
    "analytics_overdue": "INSERT, DELETE",
    "analytics_scores": "INSERT, DELETE",
    "analytics_pending": "INSERT, DELETE",
    "analytics_refresh": "UPDATE",
    # Operator alerts (029): raised and cleared, one row per alert (ledger/alerts.py).
    "operator_alerts": "INSERT, UPDATE",
    # Signing in (ledger/auth.py) and API retries (ledger/idempotency.py).
    "auth_codes": "INSERT, UPDATE (tries, used_at), DELETE",   # forgotten after a day
    "auth_tokens": "INSERT, UPDATE (last_used_at, revoked_at)",
    "api_idempotency": "INSERT, UPDATE (status, body), DELETE",  # forgotten after a week
    # Read only.
    "order_status_transitions": "",
    "schema_migrations": "",
})
# What default privileges give a table the owner creates later, until it is listed above.
DEFAULT_WRITES = "INSERT, UPDATE"


class RoleError(RuntimeError):
    """The app's role could undo what the database guards: migrating stops and says why."""


def ident(name: str) -> str:
    """A quoted SQL identifier (roles and schemas come from the server, not from code)."""
    return '"' + name.replace('"', '""') + '"'


async def create_login_roles(conn: asyncpg.Connection, password: str | None = None) -> None:
    """Create OWNER_ROLE and APP_ROLE as login roles unless they exist (a superuser connection).

    For servers this app runs itself: the embedded one and the tests'. Roles belong to the whole
    server, so two processes may race here; the loser finds the role made.
    """
    secret = "" if password is None else " PASSWORD " + _literal(password)
    for role in (OWNER_ROLE, APP_ROLE):
        await conn.execute(f"""
            DO $$ BEGIN
                IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = {_literal(role)}) THEN
                    CREATE ROLE {ident(role)} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE{secret};
                END IF;
            EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
            END $$""")


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


async def grant_app(conn: asyncpg.Connection, role: str) -> None:
    """Give `role` exactly the app's privileges on this schema (run as the owner, in a
    transaction; idempotent). Refuses a role that could undo the guards."""
    problems = await app_role_problems(conn, role)
    if problems:
        raise RoleError(f"the app's role {role} must not be trusted this far: "
                        + "; ".join(problems) + " (README: Database roles)")
    schema = await conn.fetchval("SELECT current_schema()")
    tables = [r["relname"] for r in await conn.fetch(
        """SELECT relname FROM pg_class
           WHERE relnamespace = $1::regnamespace AND relkind IN ('r', 'p') ORDER BY relname""",
        schema)]
    s, r = ident(schema), ident(role)
    statements = [
        f"GRANT USAGE ON SCHEMA {s} TO {r}",
        # Start clean, so a privilege granted by hand or by an older rule does not linger.
        f"REVOKE ALL ON ALL TABLES IN SCHEMA {s} FROM {r}",
        f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {s} FROM {r}",
        f"GRANT SELECT ON ALL TABLES IN SCHEMA {s} TO {r}",
        f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA {s} TO {r}",   # nextval for serial ids
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {s} GRANT SELECT, {DEFAULT_WRITES} ON TABLES TO {r}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {s} GRANT USAGE ON SEQUENCES TO {r}",
    ]
    for table in tables:
        writes = APP_WRITES.get(table)
        if writes is None:
            log.warning("table %s is not in ledger.roles.APP_WRITES: the app may %s it",
                        table, DEFAULT_WRITES)
            writes = DEFAULT_WRITES
        if writes:
            statements.append(f"GRANT {writes} ON {s}.{ident(table)} TO {r}")
    async with conn.transaction():
        for statement in statements:
            await conn.execute(statement)
        # PostgreSQL before 15 lets everyone create in `public`, and any version lets everyone
        # create temporary tables; neither is the app's business. Only the schema's and the
        # database's owners may take those away, which the migrating role may not be.
        await _revoke_if_owner(conn, f"REVOKE CREATE ON SCHEMA {s} FROM PUBLIC")
        database = ident(await conn.fetchval("SELECT current_database()"))
        await _revoke_if_owner(conn, f"REVOKE TEMPORARY ON DATABASE {database} FROM PUBLIC")
    for problem in await app_role_leftovers(conn, role):
        log.warning("the app's role %s %s", role, problem)


async def _revoke_if_owner(conn: asyncpg.Connection, statement: str) -> None:
    try:
        async with conn.transaction():
            await conn.execute(statement)
    except asyncpg.InsufficientPrivilegeError:
        log.warning("could not %s (not the owner); ask the owner to", statement)


async def app_role_problems(conn: asyncpg.Connection, role: str) -> list[str]:
    """Why `role` could walk past the triggers: a superuser, a member of the migrating role, an
    owner of anything in this database, the database, or the schema (whose owner may drop
    tables). Empty when it owns nothing and is nobody it should not be."""
    row = await conn.fetchrow(
        """SELECT r.oid, r.rolsuper, r.rolbypassrls,
                  pg_has_role(r.oid, current_user, 'MEMBER') AS is_migrator,
                  (SELECT pg_has_role(r.oid, d.datdba, 'USAGE') FROM pg_database d
                   WHERE d.datname = current_database()) AS owns_database,
                  (SELECT pg_has_role(r.oid, n.nspowner, 'USAGE') FROM pg_namespace n
                   WHERE n.oid = current_schema()::regnamespace) AS owns_schema,
                  (SELECT count(*) FROM pg_class c WHERE c.relowner = r.oid) AS relations,
                  (SELECT count(*) FROM pg_proc p WHERE p.proowner = r.oid) AS functions,
                  (SELECT count(*) FROM pg_type t WHERE t.typowner = r.oid) AS types,
                  (SELECT count(*) FROM pg_namespace n WHERE n.nspowner = r.oid) AS schemas
           FROM pg_roles r WHERE r.rolname = $1""", role)
    if row is None:
        return [f"role {role} does not exist"]
    problems = []
    if row["rolsuper"]:
        problems.append("it is a superuser")
    if row["rolbypassrls"]:
        problems.append("it bypasses row security")
    if row["is_migrator"]:
        problems.append("it is (a member of) the role that migrates")
    if row["owns_database"]:
        problems.append("it owns the database")
    if row["owns_schema"]:
        problems.append("it owns the schema")
    owned = {k: row[k] for k in ("relations", "functions", "types", "schemas") if row[k]}
    if owned:
        problems.append("it owns " + ", ".join(f"{n} {k}" for k, n in owned.items())
                        + f" (REASSIGN OWNED BY {role} TO the owner)")
    return problems


async def app_role_leftovers(conn: asyncpg.Connection, role: str) -> list[str]:
    """What `role` may still do that it should not, but this migration could not take away."""
    row = await conn.fetchrow(
        """SELECT has_schema_privilege($1, current_schema(), 'CREATE') AS create_schema,
                  has_database_privilege($1, current_database(), 'TEMPORARY') AS temporary,
                  has_database_privilege($1, current_database(), 'CREATE') AS create_database""",
        role)
    assert row is not None
    return [f"may still {what}" for what, allowed in (
        ("create tables in the schema", row["create_schema"]),
        ("create temporary tables", row["temporary"]),
        ("create schemas in the database", row["create_database"]),
    ) if allowed]
