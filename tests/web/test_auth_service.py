"""ledger.auth: codes that expire, take a few tries and are limited per phone and per address,
the same for strangers; only hashes stored; sessions that end when revoked or blocked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dialogs import jobs
from ledger import auth, users
from ledger.errors import CodeRejected, NotPermitted, RateLimited

T0 = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
RULES = auth.Rules()
TIMING = jobs.Timing(draft_ttl=timedelta(hours=1), offer_timeout=timedelta(minutes=30))


async def test_a_code_signs_its_member_in_once(pool, people):
    async with pool.acquire() as conn:
        made = await auth.request_code(conn, people.retailer.phone, "10.0.0.1", RULES, now=T0)
        assert made.user == people.retailer and made.code is not None and len(made.code) == 6
        assert made.expires_at == T0 + timedelta(minutes=5)
        signed = await auth.verify_code(conn, people.retailer.phone, made.code, RULES,
                                        now=T0 + timedelta(minutes=4))
        assert signed == people.retailer
        again = await auth.verify_code(conn, people.retailer.phone, made.code, RULES,
                                       now=T0 + timedelta(minutes=4))
        assert isinstance(again, CodeRejected) and again.params == {"reason": "wrong"}


async def test_a_code_typed_in_devanagari_digits_or_with_a_space_works(pool, people):
    async with pool.acquire() as conn:
        made = await auth.request_code(conn, people.retailer.phone, "10.0.0.1", RULES, now=T0)
        assert made.code is not None
        typed = made.code[:3].translate(str.maketrans("0123456789", "०१२३४५६७८९")) + " " \
            + made.code[3:]
        assert await auth.verify_code(conn, people.retailer.phone, typed, RULES,
                                      now=T0) == people.retailer


async def test_an_expired_code_is_refused(pool, people):
    async with pool.acquire() as conn:
        made = await auth.request_code(conn, people.retailer.phone, "10.0.0.1", RULES, now=T0)
        assert made.code is not None
        late = await auth.verify_code(conn, people.retailer.phone, made.code, RULES,
                                      now=T0 + timedelta(minutes=5))
        assert isinstance(late, CodeRejected) and late.params["reason"] == "wrong"


async def test_a_code_takes_five_tries_then_no_more_even_the_right_one(pool, people):
    async with pool.acquire() as conn:
        made = await auth.request_code(conn, people.retailer.phone, "10.0.0.1", RULES, now=T0)
        assert made.code is not None
        wrong = f"{(int(made.code) + 1) % 1_000_000:06d}"
        verdicts = [await auth.verify_code(conn, people.retailer.phone, wrong, RULES, now=T0)
                    for _ in range(5)]
        assert [v.params["reason"] for v in verdicts if isinstance(v, CodeRejected)] == [
            "wrong", "wrong", "wrong", "wrong", "used_up"]
        right = await auth.verify_code(conn, people.retailer.phone, made.code, RULES, now=T0)
        assert isinstance(right, CodeRejected) and right.params["reason"] == "used_up"


async def test_a_stranger_gets_no_code_but_the_same_tries_and_limits(pool, people):
    stranger = "+9779841111111"
    async with pool.acquire() as conn:
        for phone in (people.retailer.phone, stranger, people.blocked.phone):
            answers, codes = [], set()
            for minute in range(3):
                made = await auth.request_code(conn, phone, "10.0.0.1", RULES,
                                               now=T0 + timedelta(minutes=minute))
                answers.append(made.code is not None)
                codes.add(made.code)
            wrong = next(c for c in ("123456", "234567", "345678", "456789") if c not in codes)
            with pytest.raises(RateLimited) as limited:
                await auth.request_code(conn, phone, "10.0.0.1", RULES,
                                        now=T0 + timedelta(minutes=5))
            # The first request leaves the 15-minute window at 06:15: ten minutes from 06:05.
            assert limited.value.retry_after_seconds == 600
            assert answers == [phone == people.retailer.phone] * 3
            tries = [await auth.verify_code(conn, phone, wrong, RULES,
                                            now=T0 + timedelta(minutes=3)) for _ in range(5)]
            assert [t.params["reason"] for t in tries if isinstance(t, CodeRejected)][-1] \
                == "used_up", phone
        # After the window the phone may ask again.
        made = await auth.request_code(conn, people.retailer.phone, "10.0.0.2", RULES,
                                       now=T0 + timedelta(minutes=15, seconds=1))
        assert made.code is not None


async def test_one_address_may_ask_for_twenty_codes_an_hour(pool, people):
    async with pool.acquire() as conn:
        for n in range(20):
            await auth.request_code(conn, f"+97798411111{n:02d}", "192.0.2.7", RULES,
                                    now=T0 + timedelta(seconds=n))
        with pytest.raises(RateLimited) as limited:
            await auth.request_code(conn, people.retailer.phone, "192.0.2.7", RULES,
                                    now=T0 + timedelta(minutes=30))
        assert limited.value.retry_after_seconds == 30 * 60
        made = await auth.request_code(conn, people.retailer.phone, "192.0.2.8", RULES,
                                       now=T0 + timedelta(minutes=30))
        assert made.code is not None


async def test_only_hashes_of_codes_and_tokens_are_stored(pool, people):
    async with pool.acquire() as conn:
        made = await auth.request_code(conn, people.retailer.phone, "10.0.0.1", RULES, now=T0)
        issued = await auth.issue(conn, people.retailer, "api", timedelta(days=1), now=T0)
        dump = str([tuple(r) for r in await conn.fetch("SELECT * FROM auth_codes")]) + str(
            [tuple(r) for r in await conn.fetch("SELECT * FROM auth_tokens")])
    assert made.code is not None and made.code not in dump and issued.token not in dump
    assert issued.token.startswith("kh_") and len(issued.token) >= 40


async def test_a_token_works_until_revoked_expired_or_its_member_is_blocked(pool, people):
    async with pool.acquire() as conn:
        issued = await auth.issue(conn, people.vendor, "api", timedelta(days=1), now=T0)
        live = await auth.authenticate(conn, issued.token, ("api",), now=T0)
        assert live is not None and live.user == people.vendor and live.kind == "api"
        assert await auth.authenticate(conn, issued.token, ("web",), now=T0) is None
        assert await auth.authenticate(conn, issued.token, ("api",),
                                       now=T0 + timedelta(days=1)) is None
        await users.upsert(conn, phone=people.vendor.phone, name=people.vendor.name,
                           role="VENDOR", language="ne", active=False)
        assert await auth.authenticate(conn, issued.token, ("api",), now=T0) is None


async def test_signing_out_everywhere_is_the_members_or_an_admins_and_is_audited(pool, people):
    async with pool.acquire() as conn:
        for kind in auth.KINDS:
            await auth.issue(conn, people.retailer, kind, timedelta(days=1))
        with pytest.raises(NotPermitted):
            await auth.revoke_all(conn, people.vendor, people.retailer.id)
        assert await auth.revoke_all(conn, people.retailer, people.retailer.id) == 3
        assert await auth.revoke_all(conn, people.admin, people.retailer.id) == 0
        actions = [r["action"] for r in await conn.fetch("SELECT action FROM audit_log")]
        assert actions == ["token.revoke_all", "token.revoke_all"]
        listed = await auth.tokens(conn, people.retailer, people.retailer.id)
        assert len(listed) == 3 and all(t.revoked_at is not None for t in listed)


async def test_old_requests_for_codes_and_old_api_outcomes_are_forgotten(pool, people):
    async with pool.acquire() as conn:
        await auth.request_code(conn, people.retailer.phone, "10.0.0.1", RULES, now=T0)
        await auth.request_code(conn, people.vendor.phone, "10.0.0.1", RULES,
                                now=T0 + timedelta(hours=23))
        await conn.execute(
            """INSERT INTO api_idempotency (user_id, key, request_hash, status, body, created_at)
               VALUES ($1, 'old', $2, 200, '', $3), ($1, 'new', $2, 200, '', $4)""",
            people.vendor.id, b"h" * 32, T0 - timedelta(days=7, seconds=1), T0)
        async with conn.transaction():
            await jobs.forget_sign_ins(conn, T0 + timedelta(days=1, seconds=1), TIMING)
        assert [r["phone"] for r in await conn.fetch("SELECT phone FROM auth_codes")] == [
            people.vendor.phone]
        assert [r["key"] for r in await conn.fetch("SELECT key FROM api_idempotency")] == ["new"]
