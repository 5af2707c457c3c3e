"""Signing in: one-time codes sent on WhatsApp, web sessions and API tokens, signing out.

A code is six digits from `secrets`, kept only as a salted SHA-256, valid for a few minutes and
a few tries. Requests for codes are limited per phone and per client address, counted from the
rows of `auth_codes`, so the limits hold across processes. A number we do not know (or one that
is blocked) is treated exactly like a member's, except that no code is made: the answer, the
limits and the errors are the same, so nobody learns who is a member by asking.

Sessions (`web`) and tokens (`api`, `integration`) share `auth_tokens`; only the SHA-256 of a
token is stored. The caller sends the code (the web layer queues it through the outbound service)
and owns the transaction.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import asyncpg

from ledger import users
from ledger.actors import Actor, is_staff
from ledger.audit import audit
from ledger.errors import CodeRejected, NotPermitted, RateLimited, UnknownUser
from locales import numbers

Kind = Literal["web", "api", "integration"]
KINDS: tuple[Kind, ...] = ("web", "api", "integration")
CODE_DIGITS = 6
TOKEN_BYTES = 32
TOKEN_PREFIX = "kh_"
MAX_TOKEN_LENGTH = 200
MAX_NAME = 120
# Requests for codes are kept this long (the limits look back an hour at most), then forgotten.
CODES_KEPT = timedelta(days=1)
FORGET_BATCH = 1000
# A session's "last used" is written at most this often: a page view is not a write each time.
LAST_USED_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class Rules:
    """How long codes and tokens live, and how many codes a phone and an address may ask for
    (settings `SIGNIN_*`, `WEB_SESSION_DAYS`, `API_TOKEN_DAYS`)."""

    code_ttl: timedelta = timedelta(minutes=5)
    max_tries: int = 5
    per_phone: int = 3
    phone_window: timedelta = timedelta(minutes=15)
    per_address: int = 20
    address_window: timedelta = timedelta(hours=1)
    session_ttl: timedelta = timedelta(days=14)
    api_token_ttl: timedelta = timedelta(days=30)


@dataclass(frozen=True)
class CodeRequest:
    """What a request for a code made: a code to send to `user`, or nothing (an unknown or
    blocked number). The caller answers the same either way."""

    user: users.User | None
    code: str | None
    expires_at: datetime


@dataclass(frozen=True)
class Issued:
    """A new session or token: `token` is shown once and never stored."""

    id: int
    token: str
    kind: Kind
    expires_at: datetime


@dataclass(frozen=True)
class Session:
    """A live session or token and whose it is."""

    id: int
    user: users.User
    kind: Kind
    name: str
    expires_at: datetime


@dataclass(frozen=True)
class TokenInfo:
    id: int
    kind: Kind
    name: str
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def _code_hash(salt: bytes, phone: str, code: str) -> bytes:
    return hashlib.sha256(salt + phone.encode() + b":" + code.encode()).digest()


async def _now(conn: asyncpg.Connection, now: datetime | None) -> datetime:
    if now is not None:
        return now
    moment: datetime = await conn.fetchval("SELECT now()")
    return moment


async def request_code(
    conn: asyncpg.Connection, phone: str, client_address: str, rules: Rules, *,
    now: datetime | None = None,
) -> CodeRequest:
    """Record a request for a code for `phone` (E.164) from `client_address`; make a code when
    the number is an active member. `RateLimited` past the limits, whoever the number is."""
    moment = await _now(conn, now)
    address = client_address[:64] or "unknown"
    async with conn.transaction():
        # One request at a time per phone and per address, so two at once cannot both slip
        # under a limit.
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('auth.phone:' || $1))", phone)
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('auth.addr:' || $1))", address)
        await _check_limit(conn, "phone", phone, rules.per_phone, rules.phone_window, moment)
        await _check_limit(conn, "client_address", address, rules.per_address,
                           rules.address_window, moment)
        user = await users.by_phone(conn, phone)
        expires = moment + rules.code_ttl
        if user is None or not user.active:
            await conn.execute(
                """INSERT INTO auth_codes (phone, client_address, created_at, expires_at)
                   VALUES ($1, $2, $3, $4)""", phone, address, moment, expires)
            return CodeRequest(None, None, expires)
        code = "".join(secrets.choice("0123456789") for _ in range(CODE_DIGITS))
        salt = secrets.token_bytes(16)
        await conn.execute(
            """INSERT INTO auth_codes (phone, client_address, user_id, salt, code_hash,
                                       created_at, expires_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7)""",
            phone, address, user.id, salt, _code_hash(salt, phone, code), moment, expires)
        return CodeRequest(user, code, expires)


async def _check_limit(
    conn: asyncpg.Connection, column: str, value: str, limit: int, window: timedelta,
    now: datetime,
) -> None:
    rows = await conn.fetch(
        f"""SELECT created_at FROM auth_codes WHERE {column} = $1 AND created_at > $2
            AND created_at <= $3 ORDER BY created_at DESC LIMIT $4""",
        value, now - window, now, limit)
    if len(rows) >= limit:
        # The oldest counted request leaves the window first.
        free_at = rows[-1]["created_at"] + window
        wait = max(1, math.ceil((free_at - now).total_seconds()))
        raise RateLimited(retry_after_seconds=wait)


async def verify_code(
    conn: asyncpg.Connection, phone: str, code: str, rules: Rules, *,
    now: datetime | None = None,
) -> users.User | CodeRejected:
    """The member whose live code for `phone` this is (the code is then used up), or the
    `CodeRejected` to raise: returned, not raised, because the try it counted must commit with
    the caller's transaction whatever the outcome (raising inside it would undo the count).

    Every attempt counts a try on each of the phone's live requests, a stranger's too, and a
    request with `max_tries` tries takes no more: `reason="used_up"`, else `"wrong"`."""
    moment = await _now(conn, now)
    given = "".join(numbers.ascii_digits(code).split())  # "४०२ ९१३" is 402913 too
    async with conn.transaction():
        rows = await conn.fetch(
            """SELECT id, user_id, salt, code_hash, tries FROM auth_codes
               WHERE phone = $1 AND used_at IS NULL AND expires_at > $2 AND created_at <= $2
               ORDER BY id FOR UPDATE""", phone, moment)
        if not rows:
            return CodeRejected(reason="wrong")
        open_rows = [r for r in rows if r["tries"] < rules.max_tries]
        if not open_rows:
            return CodeRejected(reason="used_up")
        await conn.execute("UPDATE auth_codes SET tries = tries + 1 WHERE id = ANY($1::bigint[])",
                           [r["id"] for r in open_rows])
        well_formed = len(given) == CODE_DIGITS and given.isascii() and given.isdigit()
        for row in open_rows:
            if row["code_hash"] is None or not well_formed:
                continue
            if hmac.compare_digest(_code_hash(row["salt"], phone, given), row["code_hash"]):
                user = await users.by_id(conn, row["user_id"])
                if user is None or not user.active:  # blocked since the code was sent
                    break
                await conn.execute("UPDATE auth_codes SET used_at = $2 WHERE id = $1",
                                   row["id"], moment)
                return user
        if all(r["tries"] + 1 >= rules.max_tries for r in open_rows):
            return CodeRejected(reason="used_up")
        return CodeRejected(reason="wrong")


async def issue(
    conn: asyncpg.Connection, user: users.User, kind: Kind, ttl: timedelta, *, name: str = "",
    now: datetime | None = None,
) -> Issued:
    """A new session or token for `user` (who just proved they hold their phone, or for whom
    an operator made an integration token)."""
    if kind not in KINDS:
        raise ValueError(f"unknown token kind {kind!r}")
    moment = await _now(conn, now)
    token = TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)
    expires = moment + ttl
    token_id: int = await conn.fetchval(
        """INSERT INTO auth_tokens (user_id, kind, name, token_hash, created_at, expires_at)
           VALUES ($1, $2, $3, $4, $5, $6) RETURNING id""",
        user.id, kind, " ".join(name.split())[:MAX_NAME], token_hash(token), moment, expires)
    return Issued(token_id, token, kind, expires)


async def issue_integration(
    conn: asyncpg.Connection, phone: str, name: str, ttl: timedelta, *,
    now: datetime | None = None,
) -> tuple[users.User, Issued]:
    """A long-lived token for a system acting for the member with `phone` (the command line's
    `khaacho token create`), audited."""
    async with conn.transaction():
        user = await users.by_phone(conn, phone)
        if user is None or not user.active:
            raise UnknownUser(user_id=phone)
        issued = await issue(conn, user, "integration", ttl, name=name, now=now)
        await audit(conn, None, "token.create", f"user:{user.id}", name or "integration",
                    {"token_id": issued.id, "expires_at": issued.expires_at.isoformat()})
        return user, issued


async def authenticate(
    conn: asyncpg.Connection, token: str, kinds: tuple[Kind, ...], *,
    now: datetime | None = None,
) -> Session | None:
    """The live session of `token` when it is one of `kinds`, not expired, not revoked, and its
    member still active; None otherwise. Notes when it was last used (at most once a minute)."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    moment = await _now(conn, now)
    row = await conn.fetchrow(
        """SELECT id, user_id, kind, name, expires_at, last_used_at FROM auth_tokens
           WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > $2
             AND kind = ANY($3::text[])""", token_hash(token), moment, list(kinds))
    if row is None:
        return None
    user = await users.by_id(conn, row["user_id"])
    if user is None or not user.active:
        return None
    if row["last_used_at"] is None or moment - row["last_used_at"] >= LAST_USED_EVERY:
        await conn.execute("UPDATE auth_tokens SET last_used_at = $2 WHERE id = $1",
                           row["id"], moment)
    return Session(row["id"], user, row["kind"], row["name"], row["expires_at"])


async def revoke(conn: asyncpg.Connection, actor: Actor, token_id: int, *,
                 now: datetime | None = None) -> bool:
    """Sign out one session or token: its owner, or an admin. False when it was not live."""
    moment = await _now(conn, now)
    async with conn.transaction():
        owner = await conn.fetchval("SELECT user_id FROM auth_tokens WHERE id = $1", token_id)
        if owner is None:
            return False
        if owner != actor.id and actor.role != "ADMIN":
            raise NotPermitted(action="token.revoke", role=actor.role)
        done = await conn.fetchval(
            """UPDATE auth_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL
               RETURNING id""", token_id, moment)
        if done is not None and owner != actor.id:
            await audit(conn, actor.id, "token.revoke", f"user:{owner}", "revoked by an admin",
                        {"token_id": token_id})
        return done is not None


async def revoke_all(conn: asyncpg.Connection, actor: Actor | None, user_id: int, *,
                     now: datetime | None = None) -> int:
    """Sign out everywhere: every live session and token of `user_id` (web, API and
    integrations), by the member themself, an admin, or the system (`None`: the command line).
    Audited; returns how many were live."""
    if actor is not None and actor.id != user_id and actor.role != "ADMIN":
        raise NotPermitted(action="token.revoke_all", role=actor.role)
    moment = await _now(conn, now)
    async with conn.transaction():
        status = await conn.execute(
            """UPDATE auth_tokens SET revoked_at = $2
               WHERE user_id = $1 AND revoked_at IS NULL""", user_id, moment)
        count = int(status.split()[-1])
        await audit(conn, actor.id if actor else None, "token.revoke_all", f"user:{user_id}",
                    "signed out everywhere", {"revoked": count})
        return count


async def tokens(conn: asyncpg.Connection, actor: Actor, user_id: int) -> list[TokenInfo]:
    """A member's sessions and tokens, newest first (never the tokens themselves): their own,
    or anyone's for staff."""
    if actor.id != user_id and not is_staff(actor):
        raise NotPermitted(action="token.list", role=actor.role)
    rows = await conn.fetch(
        """SELECT id, kind, name, created_at, expires_at, last_used_at, revoked_at
           FROM auth_tokens WHERE user_id = $1 ORDER BY id DESC LIMIT 200""", user_id)
    return [TokenInfo(r["id"], r["kind"], r["name"], r["created_at"], r["expires_at"],
                      r["last_used_at"], r["revoked_at"]) for r in rows]


async def forget_old_codes(conn: asyncpg.Connection, now: datetime) -> int:
    """Forget requests for codes older than CODES_KEPT (a batch at a time; the periodic jobs
    call it), so the table stays small whoever keeps asking. Returns how many."""
    status = await conn.execute(
        """DELETE FROM auth_codes WHERE id IN (
               SELECT id FROM auth_codes WHERE created_at < $1 ORDER BY id LIMIT $2
               FOR UPDATE SKIP LOCKED)""", now - CODES_KEPT, FORGET_BATCH)
    return int(status.split()[-1])
