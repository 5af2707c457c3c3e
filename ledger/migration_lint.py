"""Finds the migration forms a running older version does not survive (docs/operations.md:
Deploys). A release migrates while the previous build still serves, so a migration must only
expand: add nullable columns, tables, indexes built CONCURRENTLY, constraints NOT VALID then
validated later; the contraction (dropping what the old build used) comes a release after.

Every migration's SQL is parsed with PostgreSQL's own parser (pglast) and each statement is
checked against the rules below. Tables created earlier in the same migration are exempt: nobody
uses them yet. The findings of migrations that were applied before this check existed are kept
in APPLIED with why each was safe then; any other finding fails `python -m ledger.migration_lint`
and the test that runs it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pglast
from pglast import ast, enums

from ledger import migrate

# What each rule means for the build that is still running while the migration runs.
RULES = {
    "drop-column": "drops a column the running version may still read or write",
    "rename-column": "renames a column the running version still uses by its old name",
    "rename-table": "renames a table the running version still uses by its old name",
    "drop-table": "drops a table the running version may still use",
    "column-type": "changes a column's type: the table is rewritten under an exclusive lock",
    "volatile-default": "adds a column with a volatile default (or serial/identity/generated): "
                        "the table is rewritten under an exclusive lock",
    "not-null-no-default": "adds a NOT NULL column without a default: the running version's "
                           "INSERTs do not fill it and fail",
    "set-not-null": "SET NOT NULL scans the whole table under an exclusive lock; add a CHECK "
                    "(col IS NOT NULL) NOT VALID, VALIDATE it in a later transaction, then SET "
                    "NOT NULL",
    "index": "builds an index without CONCURRENTLY: writes to the table wait until it is built",
    "concurrently-in-transaction": "CREATE/DROP INDEX CONCURRENTLY cannot run in a transaction: "
                                   "start the migration with '-- khaacho: no-transaction'",
    "rerun": "a no-transaction migration runs again from the top after failing halfway, and a "
             "failed CREATE INDEX CONCURRENTLY leaves an invalid index behind: DROP INDEX "
             "CONCURRENTLY IF EXISTS it first",
    "lock": "LOCK TABLE holds the table against the running version until the migration ends",
    "add-constraint": "adds a constraint that is checked against every row under an exclusive "
                      "lock: add it NOT VALID, then VALIDATE CONSTRAINT in a later transaction",
    "validate-in-transaction": "VALIDATE CONSTRAINT in the transaction that added it keeps the "
                               "ADD's exclusive lock through the scan: validate in a later "
                               "migration, or in a no-transaction one",
    "backfill": "updates or deletes every row of the table in one transaction: each row stays "
                "locked until the migration commits; backfill in batches from the app instead",
    "do-block": "a DO block's statements cannot be checked: review it by hand",
}

# Defaults evaluated once when the column is added (so no rewrite): stable functions.
_STABLE_FUNCTIONS = {"now", "transaction_timestamp", "statement_timestamp", "current_setting"}
_SERIAL_TYPES = {"serial", "serial2", "serial4", "serial8", "smallserial", "bigserial"}

# Findings of the migrations applied before this check existed, which cannot be rewritten:
# (migration, rule, target) -> why it was safe when it ran. They were written while the tables
# held demo and test data only ("pre-launch": no production deploy is recorded before 024), so
# each lock lasted a moment. A NEW migration gets no entry here: it is written in the safe form
# instead (docs/operations.md: Deploys); an entry is for a form reviewed and proven harmless.
APPLIED: dict[tuple[str, str, str], str] = {
    # 002: the stock reservation columns came with the first orders, before any vendor had stock.
    ("002_orders_ledger.sql", "add-constraint", "vendor_products"):
        "vendor_products was a seeded catalogue of a few hundred rows; the check is a moment",
    # 003 and 012: the outbox claim indexes; the outbox was small (replies are sent in seconds).
    ("003_outbox_claim_order.sql", "index", "outbox"):
        "outbox rows are few while sending keeps up; applied before the first deploy",
    ("012_outbox_fair_and_safe.sql", "add-constraint", "outbox"):
        "CHECKs on new columns with constant defaults; outbox small, applied pre-launch",
    ("012_outbox_fair_and_safe.sql", "index", "outbox"):
        "outbox small (a queue that empties), applied pre-launch",
    ("012_outbox_fair_and_safe.sql", "add-constraint", "message_statuses"):
        "CHECK on a new nullable column, all NULL; applied pre-launch",
    ("012_outbox_fair_and_safe.sql", "index", "message_statuses"):
        "partial index on a column that was all NULL; applied pre-launch",
    ("012_outbox_fair_and_safe.sql", "add-constraint", "inbound_messages"):
        "CHECK on a new nullable column, all NULL; applied pre-launch",
    ("012_outbox_fair_and_safe.sql", "index", "inbound_messages"):
        "inbound_messages held test traffic only; applied pre-launch",
    # 013, 015, 016, 022: each ends by pinning every function's search_path.
    ("013_financial_guards.sql", "do-block", ""):
        "re-sets search_path on the schema's functions; touches no table",
    ("013_financial_guards.sql", "index", "ledger_entries"):
        "partial index on payment entries of a ledger holding demo entries only",
    ("014_numbers_when_placed.sql", "add-constraint", "orders"):
        "CHECK on a new nullable column, all NULL; applied pre-launch",
    ("014_numbers_when_placed.sql", "index", "orders"):
        "UNIQUE on a new all-NULL column; orders held demo rows only",
    ("015_khata_import.sql", "add-constraint", "ledger_entries"):
        "FKs/CHECKs on new columns; the ledger held demo entries only (pre-launch)",
    ("015_khata_import.sql", "backfill", "ledger_entries"):
        "happened_at/stated_by copied for demo entries only (pre-launch)",
    ("015_khata_import.sql", "add-constraint", "payments"):
        "method list widened; payments held demo rows only (pre-launch)",
    ("015_khata_import.sql", "add-constraint", "orders"):
        "CHECKs on new columns; orders held demo rows only (pre-launch)",
    ("015_khata_import.sql", "index", "orders"):
        "partial unique index on a new all-NULL column; demo rows only",
    ("015_khata_import.sql", "do-block", ""):
        "re-sets search_path on the schema's functions; touches no table",
    ("016_collect.sql", "do-block", ""):
        "re-sets search_path on the schema's functions; touches no table",
    ("016_collect.sql", "index", "orders"):
        "partial index on open bills; orders held demo rows only",
    ("016_collect.sql", "index", "payments"):
        "partial index on reversed payments; demo rows only",
    ("016_collect.sql", "index", "audit_log"):
        "audit_log held demo rows only",
    ("018_override_amount.sql", "add-constraint", "credit_overrides"):
        "credit_overrides is a handful of admin grants; the check is a moment",
    ("018_override_amount.sql", "volatile-default", "credit_overrides.id"):
        "bigserial rewrote credit_overrides: a handful of admin grants",
    ("018_override_amount.sql", "index", "credit_overrides"):
        "a handful of admin grants",
    ("019_outbox_documents.sql", "add-constraint", "outbox"):
        "FK on a new all-NULL column to a table created in 019; outbox small",
    ("020_entry_chain.sql", "add-constraint", "ledger_entries"):
        "the chain's CHECKs, checked once over a pre-launch ledger of demo entries",
    ("020_entry_chain.sql", "do-block", ""):
        "chains the existing entries once, with the app stopped (pre-launch)",
    ("020_entry_chain.sql", "set-not-null", "ledger_entries.entry_hash"):
        "set right after the DO block filled it, over a pre-launch ledger",
    ("022_limit_suggestions.sql", "do-block", ""):
        "re-sets search_path on the schema's functions; touches no table",
    ("024_analytics.sql", "index", "orders"):
        "partial index on confirmed_at; orders held demo rows only",
}


@dataclass(frozen=True)
class Finding:
    migration: str
    line: int
    rule: str
    target: str  # table, or table.column; "" when the statement names none

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.migration, self.rule, self.target)

    def __str__(self) -> str:
        where = f" {self.target}" if self.target else ""
        return f"{self.migration}:{self.line}: {self.rule}{where}: {RULES[self.rule]}"


@dataclass
class _State:
    """What the migrations so far have done, as the checker follows them in order."""

    # (table, constraint) -> column, for CHECK (column IS NOT NULL) NOT VALID not yet validated
    not_valid_checks: dict[tuple[str, str], str] = field(default_factory=dict)
    # (table, column) with a validated CHECK (column IS NOT NULL): SET NOT NULL skips the scan
    proven_not_null: set[tuple[str, str]] = field(default_factory=set)


def check(migrations: Iterable[migrate.Migration]) -> list[Finding]:
    """Every finding of `migrations`, taken in order (a later one may rely on an earlier one)."""
    state = _State()
    found: list[Finding] = []
    for m in migrations:
        found.extend(_check_one(m, state))
    return found


def _check_one(m: migrate.Migration, state: _State) -> Iterator[Finding]:
    created: set[str] = set()  # tables this migration made: nobody uses them yet
    dropped: set[str] = set()  # indexes this migration drops if they exist (before rebuilding)
    added_here: dict[tuple[str, str], str] = {}  # NOT VALID constraints added in this transaction
    for raw in pglast.parse_sql(m.sql):
        stmt = raw.stmt
        line = _line(m.sql, raw.stmt_location or 0)  # pglast counts characters
        for rule, target in _statement(stmt, m, created, dropped, added_here, state):
            yield Finding(m.name, line, rule, target)


def _line(sql: str, start: int) -> int:
    """The line a statement starts on: its location is just after the previous ';', so skip the
    blank lines and comments in between."""
    rest = sql[start:]
    while True:
        stripped = rest.lstrip()
        if stripped.startswith("--"):
            stripped = stripped.split("\n", 1)[1] if "\n" in stripped else ""
        if stripped == rest:
            break
        rest = stripped
    return sql[: len(sql) - len(rest)].count("\n") + 1


def _name(relation: Any) -> str:
    return str(relation.relname) if relation is not None else ""


def _statement(
    stmt: Any, m: migrate.Migration, created: set[str], dropped: set[str],
    added_here: dict[tuple[str, str], str], state: _State,
) -> Iterator[tuple[str, str]]:
    if isinstance(stmt, ast.CreateStmt | ast.CreateTableAsStmt):
        relation = stmt.relation if isinstance(stmt, ast.CreateStmt) else stmt.into.rel  # type: ignore[union-attr]
        created.add(_name(relation))
    elif isinstance(stmt, ast.IndexStmt):
        table = _name(stmt.relation)
        if stmt.concurrent and m.transactional:
            yield "concurrently-in-transaction", table
        elif not stmt.concurrent and table not in created:
            yield "index", table
        elif stmt.concurrent and stmt.idxname not in dropped:
            yield "rerun", f"{table}.{stmt.idxname}"
    elif isinstance(stmt, ast.DropStmt):
        if stmt.concurrent and m.transactional:
            yield "concurrently-in-transaction", ""
        if stmt.removeType == enums.ObjectType.OBJECT_INDEX and stmt.missing_ok:
            dropped.update(names[-1].sval for names in stmt.objects or ())
        if stmt.removeType == enums.ObjectType.OBJECT_TABLE:
            for names in stmt.objects or ():
                table = names[-1].sval
                if table not in created:
                    yield "drop-table", table
    elif isinstance(stmt, ast.RenameStmt):
        table = _name(stmt.relation)
        if table in created:
            return
        if stmt.renameType == enums.ObjectType.OBJECT_COLUMN:
            yield "rename-column", f"{table}.{stmt.subname}"
        elif stmt.renameType == enums.ObjectType.OBJECT_TABLE:
            yield "rename-table", table
    elif isinstance(stmt, ast.LockStmt):
        for relation in stmt.relations or ():
            if _name(relation) not in created:
                yield "lock", _name(relation)
    elif isinstance(stmt, ast.UpdateStmt | ast.DeleteStmt):
        if stmt.whereClause is None and _name(stmt.relation) not in created:
            yield "backfill", _name(stmt.relation)
    elif isinstance(stmt, ast.DoStmt):
        yield "do-block", ""
    elif isinstance(stmt, ast.AlterTableStmt):
        table = _name(stmt.relation)
        if table in created:
            return
        for cmd in stmt.cmds or ():
            yield from _alter(table, cmd, m, added_here, state)


def _alter(
    table: str, cmd: Any, m: migrate.Migration,
    added_here: dict[tuple[str, str], str], state: _State,
) -> Iterator[tuple[str, str]]:
    kind = enums.AlterTableType
    if cmd.subtype == kind.AT_DropColumn:
        yield "drop-column", f"{table}.{cmd.name}"
    elif cmd.subtype == kind.AT_AlterColumnType:
        yield "column-type", f"{table}.{cmd.name}"
    elif cmd.subtype == kind.AT_AddColumn:
        yield from _add_column(table, cmd.def_)
    elif cmd.subtype == kind.AT_SetNotNull:
        if (table, cmd.name) not in state.proven_not_null:
            yield "set-not-null", f"{table}.{cmd.name}"
    elif cmd.subtype == kind.AT_AddConstraint:
        yield from _add_constraint(table, cmd.def_, m, added_here, state)
    elif cmd.subtype == kind.AT_ValidateConstraint:
        if m.transactional and (table, cmd.name) in added_here:
            yield "validate-in-transaction", table
        column = state.not_valid_checks.pop((table, cmd.name), None)
        if column is not None:
            state.proven_not_null.add((table, column))


def _add_column(table: str, column: Any) -> Iterator[tuple[str, str]]:
    target = f"{table}.{column.colname}"
    type_name = column.typeName.names[-1].sval if column.typeName else ""
    constraints = column.constraints or ()
    types = {c.contype for c in constraints}
    c = enums.ConstrType
    default = next((x.raw_expr for x in constraints if x.contype == c.CONSTR_DEFAULT), None)
    if (type_name in _SERIAL_TYPES or c.CONSTR_IDENTITY in types or c.CONSTR_GENERATED in types
            or (default is not None and not _stable(default))):
        yield "volatile-default", target
    elif default is None and (c.CONSTR_NOTNULL in types or c.CONSTR_PRIMARY in types):
        yield "not-null-no-default", target
    if types & {c.CONSTR_CHECK, c.CONSTR_FOREIGN}:
        yield "add-constraint", table
    if types & {c.CONSTR_UNIQUE, c.CONSTR_PRIMARY}:
        yield "index", table


def _add_constraint(
    table: str, constraint: Any, m: migrate.Migration,
    added_here: dict[tuple[str, str], str], state: _State,
) -> Iterator[tuple[str, str]]:
    c = enums.ConstrType
    if constraint.contype in (c.CONSTR_CHECK, c.CONSTR_FOREIGN):
        if not constraint.skip_validation:
            yield "add-constraint", table
            return
        column = _is_not_null_check(constraint)
        if m.transactional:
            added_here[(table, constraint.conname)] = column or ""
        if column is not None:
            state.not_valid_checks[(table, constraint.conname)] = column
    elif constraint.contype in (c.CONSTR_UNIQUE, c.CONSTR_PRIMARY):
        if not constraint.indexname:  # USING INDEX one built CONCURRENTLY is fine
            yield "index", table
    elif constraint.contype == c.CONSTR_EXCLUSION:
        yield "index", table


def _is_not_null_check(constraint: Any) -> str | None:
    """The column of a CHECK (column IS NOT NULL), else None."""
    expr: Any = constraint.raw_expr
    if (isinstance(expr, ast.NullTest) and expr.nulltesttype == enums.NullTestType.IS_NOT_NULL
            and isinstance(expr.arg, ast.ColumnRef) and len(fields := expr.arg.fields or ()) == 1):
        return str(fields[0].sval)
    return None


def _stable(expr: Any) -> bool:
    """Whether a default is computed once for the whole table (constants, stable functions)."""
    if expr is None or isinstance(expr, ast.A_Const | ast.SQLValueFunction):
        return True
    if isinstance(expr, ast.TypeCast):
        return _stable(expr.arg)
    if isinstance(expr, ast.A_Expr):
        return _stable(expr.lexpr) and _stable(expr.rexpr)
    if isinstance(expr, ast.A_ArrayExpr):
        return all(_stable(e) for e in expr.elements or ())
    if isinstance(expr, ast.FuncCall):
        name = (expr.funcname or ((),))[-1]
        return (getattr(name, "sval", None) in _STABLE_FUNCTIONS
                and all(_stable(a) for a in expr.args or ()))
    return False


def problems(
    findings: Iterable[Finding], allowed: dict[tuple[str, str, str], str] = APPLIED
) -> tuple[list[Finding], list[tuple[str, str, str]]]:
    """Findings not allowed, and allow-list entries that no longer match anything."""
    findings = list(findings)
    new = [f for f in findings if f.key not in allowed]
    seen = {f.key for f in findings}
    stale = [key for key in allowed if key not in seen]
    return new, stale


def main() -> int:
    new, stale = problems(check(migrate.available()))
    for finding in new:
        print(finding)
    for key in stale:
        print(f"{key[0]}: allow-list entry {key[1]} {key[2]!r} matches nothing: remove it")
    if new or stale:
        print(f"{len(new)} unsafe form(s), {len(stale)} stale allow-list entr(ies); "
              "docs/operations.md: Deploys says the safe forms", file=sys.stderr)
        return 1
    print(f"{len(migrate.available())} migrations checked: nothing a running version would "
          "not survive")
    return 0


if __name__ == "__main__":
    sys.exit(main())
