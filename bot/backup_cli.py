"""`khaacho backup` and `khaacho restore`: PostgreSQL's own pg_dump (custom format), taken in the
snapshot the manifest beside it was read in (ledger.backup), and pg_restore into an empty
database, checked against that manifest and by the ledger's self-check.

A backup is two files: `khaacho-<UTC time>.dump` and `<that>.json`, the manifest (time,
migrations, rows per table, chain heads, the dump's SHA-256, versions). Both are readable by
their owner only: they hold everything, phones and token hashes included.

Restoring: pg_restore --no-owner --no-acl, as the role the --into URL names, so the tables belong
to that role (the new database's owner, its MIGRATE_DATABASE_URL) whatever the roles were called
where the dump was taken; then the app's role is granted exactly its privileges by the same code
`khaacho migrate` runs (ledger.roles.grant_app).
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import re
import shutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import asyncpg

from ledger import backup as snapshot_state
from ledger import check, db, roles
from ledger.backup import State

FORMAT = "khaacho-backup-v1"
MANIFEST_SUFFIX = ".json"
_CHUNK = 1 << 20
# pg_dump and pg_restore of a big database take long; a hung one must still end.
TOOL_TIMEOUT_SECONDS = 6 * 3600
_VERSION = re.compile(r"\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?")


class BackupError(Exception):
    """A backup or restore refused or failed before anything was written: one line, exit 2."""


@dataclass(frozen=True)
class Tool:
    path: Path
    major: int
    version: str  # "15.20"


def _candidates(name: str, major: int) -> list[Path]:
    """Where a PostgreSQL program may be: Debian's per-version directory, the embedded server's
    own binaries (the pgserver package, found without importing it), then PATH."""
    found = [Path(f"/usr/lib/postgresql/{major}/bin/{name}")]
    spec = importlib.util.find_spec("pgserver")
    if spec is not None and spec.origin:
        found.append(Path(spec.origin).parent / "pginstall" / "bin" / name)
    on_path = shutil.which(name)
    if on_path:
        found.append(Path(on_path))
    return found


async def _version(path: Path) -> str | None:
    try:  # a path that is not there is an OSError too
        process = await asyncio.create_subprocess_exec(
            str(path), "--version", stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL)
        out, _ = await asyncio.wait_for(process.communicate(), 30)
    except (OSError, TimeoutError):
        return None
    match = _VERSION.search(out.decode(errors="replace"))
    if match is None:
        return None
    return match.group(1) + (f".{match.group(2)}" if match.group(2) else "")


async def find_tool(name: str, major: int) -> Tool:
    """`name` (pg_dump, pg_restore) of exactly this PostgreSQL major version: a pg_dump newer
    than the server writes archives an older pg_restore cannot read, an older one cannot dump
    the server at all. Says which versions it found when none matches."""
    seen: list[str] = []
    for path in _candidates(name, major):
        version = await _version(path)
        if version is None:
            continue
        if int(version.split(".")[0]) == major:
            return Tool(path, major, version)
        seen.append(f"{version} at {path}")
    found = "; found " + ", ".join(seen) if seen else ""
    raise BackupError(
        f"no {name} of PostgreSQL {major} (the server's version){found}: install PostgreSQL "
        f"{major}'s client programs (Debian/Ubuntu: apt-get install postgresql-client-{major}, "
        f"which puts them in /usr/lib/postgresql/{major}/bin)")


def libpq(url: str) -> tuple[str, dict[str, str]]:
    """The URL for a libpq program without its password (which would show in `ps`), and the
    environment that carries the password instead."""
    parts = urlsplit(url)
    userinfo, at, host = parts.netloc.rpartition("@")
    env = dict(os.environ)
    if at and ":" in userinfo:
        user, _, password = userinfo.partition(":")
        if password:
            env["PGPASSWORD"] = unquote(password)
        parts = parts._replace(netloc=f"{user}@{host}")
    return urlunsplit(parts), env


async def _run(argv: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run a PostgreSQL program; its exit code and what it said on stderr."""
    process = await asyncio.create_subprocess_exec(
        *argv, env=env, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE)
    try:
        _, err = await asyncio.wait_for(process.communicate(), TOOL_TIMEOUT_SECONDS)
    except TimeoutError:
        process.kill()
        await process.wait()
        return -1, f"{Path(argv[0]).name} took over {TOOL_TIMEOUT_SECONDS} s and was stopped"
    assert process.returncode is not None
    return process.returncode, err.decode(errors="replace").strip()


def _first_error(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line.lower()]
    return (errors or lines or ["no message"])[0]


def _sha256(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as file:
        while chunk := file.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _write_private(path: Path, text: str) -> None:
    """Write `path` whole or not at all (a temporary file renamed), readable by its owner."""
    partial = path.with_name(path.name + ".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(text)
    partial.replace(path)


def _write_private_partial(path: Path) -> None:
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))


def manifest_path(dump: Path) -> Path:
    return dump.with_name(dump.name + MANIFEST_SUFFIX)


def khaacho_version() -> str:
    try:
        return importlib.metadata.version("khaacho")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


async def _connect(url: str, what: str) -> asyncpg.Connection:
    try:
        return await db.connect(url)
    except (OSError, asyncpg.PostgresError) as exc:
        where = urlsplit(url)
        raise BackupError(f"could not connect to {what} ({where.hostname or 'local socket'}"
                          f"{where.path}): {exc}") from exc


@dataclass(frozen=True)
class Backup:
    dump: Path
    manifest: Path
    size: int
    sha256: str
    state: State
    pg_dump: Tool


async def backup(
    owner_url: str, out_dir: Path, *,
    on_snapshot: Callable[[], Awaitable[None]] | None = None,
) -> Backup:
    """Dump the database `owner_url` names (as its owner, who may read every table) into
    `out_dir`, with its manifest. `on_snapshot` runs once the snapshot is taken, before pg_dump
    starts: what it writes is in neither the dump nor the manifest (tests write there)."""
    conn = await _connect(owner_url, "the database to back up")
    try:
        major = int(await conn.fetchval("SHOW server_version_num")) // 10000
        tool = await find_tool("pg_dump", major)
        await asyncio.to_thread(out_dir.mkdir, mode=0o700, parents=True, exist_ok=True)
        dsn, env = libpq(owner_url)
        async with snapshot_state.exported_snapshot(conn) as (snapshot, state):
            dump = out_dir / f"khaacho-{state.taken_at:%Y%m%dT%H%M%SZ}.dump"
            if dump.exists():
                raise BackupError(f"{dump} is already there (a backup this same second)")
            partial = dump.with_name(dump.name + ".partial")
            # Made first, owner-only: pg_dump writes into it and keeps its mode.
            await asyncio.to_thread(_write_private_partial, partial)
            if on_snapshot is not None:
                await on_snapshot()
            # The whole database (Khaacho's is its own), so no CREATE SCHEMA public to clash
            # with the new database's; --snapshot: exactly what the manifest counted.
            code, err = await _run(
                [str(tool.path), "--format=custom", f"--snapshot={snapshot}", "--no-password",
                 f"--file={partial}", f"--dbname={dsn}"], env)
            if code != 0:
                partial.unlink(missing_ok=True)
                raise BackupError(f"pg_dump failed, no backup written: {_first_error(err)}")
    finally:
        await conn.close()
    digest, size = await asyncio.to_thread(_sha256, partial)
    await asyncio.to_thread(partial.replace, dump)
    manifest = manifest_path(dump)
    document = {"format": FORMAT, "khaacho_version": khaacho_version(),
                "pg_dump_version": tool.version,
                "dump": {"file": dump.name, "bytes": size, "sha256": digest},
                **state.as_json()}
    # Written last: a dump without its manifest is a backup that did not finish.
    await asyncio.to_thread(_write_private, manifest,
                            json.dumps(document, indent=1, ensure_ascii=False) + "\n")
    return Backup(dump, manifest, size, digest, state, tool)


def dump_of(path: Path) -> Path:
    """The dump a path names: the dump itself, or its manifest."""
    if path.name.endswith(".dump" + MANIFEST_SUFFIX):
        return path.with_name(path.name[:-len(MANIFEST_SUFFIX)])
    return path


def read_manifest(dump: Path) -> tuple[dict[str, Any], State]:
    path = manifest_path(dump)
    try:
        document = json.loads(path.read_text("utf-8"))
        if document.get("format") != FORMAT:
            raise ValueError(f"format {document.get('format')!r}, not {FORMAT}")
        if not (isinstance(document["dump"]["sha256"], str)
                and isinstance(document["dump"]["bytes"], int)):
            raise ValueError("no checksum")
        return document, State.from_json(document)
    except FileNotFoundError as exc:
        raise BackupError(f"{dump}: no manifest beside it ({path.name}): not a complete "
                          "khaacho backup; nothing was restored") from exc
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise BackupError(f"{path}: not a khaacho backup manifest ({exc}); nothing was "
                          "restored") from exc


async def verify(dump: Path) -> tuple[dict[str, Any], State]:
    """The manifest, once the dump is whole: its size and SHA-256 as the manifest says."""
    return await asyncio.to_thread(_verify, dump)


def _verify(dump: Path) -> tuple[dict[str, Any], State]:
    if not dump.is_file():
        raise BackupError(f"no such file: {dump}")
    document, state = read_manifest(dump)
    want = document["dump"]
    digest, size = _sha256(dump)
    if digest != want.get("sha256") or size != want.get("bytes"):
        raise BackupError(
            f"{dump}: corrupt or truncated ({size} bytes, SHA-256 {digest[:16]}…; the manifest "
            f"says {want.get('bytes')} bytes, {str(want.get('sha256'))[:16]}…); nothing was "
            "restored")
    return document, state


@dataclass
class Restored:
    lines: list[str] = field(default_factory=list)      # the report, for stdout
    problems: list[str] = field(default_factory=list)   # why it does not match

    @property
    def ok(self) -> bool:
        return not self.problems


async def restore(dump: Path, into_url: str, *, app_role: str | None) -> Restored:
    """Restore `dump` into the empty database `into_url` names (as the role that is to own it),
    grant `app_role` the app's privileges (None: grant nobody), then compare the manifest and
    run the ledger's self-check. Refuses (BackupError, nothing written) a dump that is not
    whole, a database that is not empty, a server older than the dump's."""
    dump = dump_of(dump)
    document, expected = await verify(dump)
    conn = await _connect(into_url, "the --into database")
    try:
        row = await conn.fetchrow(
            """SELECT current_user, current_database(), current_schema(),
                      current_setting('server_version_num')::int / 10000,
                      (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)""")
        assert row is not None
        me, database, schema, major, superuser = tuple(row)
        dumped_by = int(str(document.get("pg_dump_version", expected.server_major)).split(".")[0])
        if dumped_by > major:
            raise BackupError(f"the dump is from PostgreSQL {dumped_by}, the target server is "
                              f"{major}: restore into PostgreSQL {dumped_by} or newer")
        busy = await snapshot_state.occupied(conn, sorted({*expected.schemas, schema}))
        if busy:
            raise BackupError(f"database {database} is not empty ({', '.join(busy)}): restore "
                              "into a new, empty database; nothing was restored")
        if app_role is not None:
            if app_role == me:
                raise BackupError(f"--into logs in as {me}, the app's role: restore as the role "
                                  "that is to own the tables (README: Database roles)")
            if not await conn.fetchval("SELECT true FROM pg_roles WHERE rolname = $1", app_role):
                raise BackupError(f"the app's role {app_role} does not exist on the target "
                                  "server: create it (README: Database roles) or pass "
                                  "--no-grant; nothing was restored")
        tool = await find_tool("pg_restore", major)
        dsn, env = libpq(into_url)
        code, err = await _run(
            [str(tool.path), "--no-owner", "--no-acl", "--single-transaction",
             "--exit-on-error", "--no-password", f"--dbname={dsn}", str(dump)], env)
        if code != 0:
            raise BackupError(f"pg_restore failed, nothing was restored (one transaction): "
                              f"{_first_error(err)}")
        report = Restored()
        report.lines.append(
            f"restored {dump.name} (taken {expected.taken_at:%Y-%m-%d %H:%M:%S} UTC, "
            f"{document['dump']['bytes']:,} bytes, SHA-256 as in the manifest) into {database} "
            f"as {me}, with pg_restore {tool.version}")
        if superuser:
            report.lines.append(f"note: the tables belong to {me}, a superuser; restore as the "
                                "owner role instead (README: Database roles)")
        await snapshot_state.analyze(conn, sorted({*expected.schemas, schema}))
        if app_role is not None:
            await roles.grant_app(conn, app_role)
            report.lines.append(f"app role {app_role}: granted the app's privileges")
        else:
            report.lines.append("app role: not granted (--no-grant): run `khaacho migrate` "
                                "before the app uses this database")
        await _compare(conn, expected, report)
    finally:
        await conn.close()
    return report


async def _compare(conn: asyncpg.Connection, expected: State, report: Restored) -> None:
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        found = await snapshot_state.read_state(conn)
        checked = await check.run(conn)
    differences = snapshot_state.differences(expected, found)
    rows = sum(found.row_counts.values())
    if differences:
        report.problems += differences
        report.lines.append(f"manifest: {len(differences)} difference(s)")
        report.lines += [f"  {line}" for line in differences]
    else:
        report.lines.append(
            f"manifest: {len(found.migrations)} migrations, {len(found.row_counts)} tables "
            f"({rows:,} rows) and {len(found.chain_heads)} chain heads, each as it says")
    if checked.ok:
        report.lines.append(checked.summary())
    else:
        report.problems.append(checked.summary())
        report.lines.append(checked.summary())
        report.lines += [f"  {line}" for line in checked.lines()]


def app_role_of(database_url: str | None) -> str:
    """The role the app logs in as (DATABASE_URL's user; the embedded server's app role)."""
    if database_url:
        user = urlsplit(database_url).username
        if user:
            return unquote(user)
    return roles.APP_ROLE
