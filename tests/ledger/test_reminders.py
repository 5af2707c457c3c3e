"""Payment reminders with a controllable clock: the ladder per bill, one message a retailer a
day, quiet hours, pause days, paid and disputed bills, every decision logged, and the vendor's
morning digest. Times are Nepal time (the rules are)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import asyncpg
import pytest

from ledger import claims, digests, disputes, orders, payments, reminders
from ledger.order_repo import Order
from ledger.reminders import Reminder, Rules
from ledger.users import User
from tests.ledger.conftest import World, line
from tests.ledger.helpers import accepted_order

NPT = timezone(timedelta(hours=5, minutes=45))
DUE = date(2026, 12, 10)
RULES = Rules()


def at(day: date, hour: int = 10, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), NPT)


def day(offset: int) -> date:
    return DUE + timedelta(days=offset)


async def bill(conn: asyncpg.Connection, retailer: User, vendor: User, sku: str, kg: float,
               due: date = DUE) -> Order:
    """An accepted order due on `due` (the retailer's terms are 30 days)."""
    return await accepted_order(conn, retailer, vendor, [line(sku, kg)],
                                now=at(due - timedelta(days=30), 11))


async def round_at(conn: asyncpg.Connection, moment: datetime,
                   rules: Rules = RULES) -> list[Reminder]:
    async with conn.transaction():
        return await reminders.run(conn, rules, moment)


def sent(decisions: list[Reminder]) -> list[tuple[int, str]]:
    return [(d.retailer_id, d.reason) for d in decisions if d.outcome == "send"]


async def test_a_bill_climbs_the_ladder_before_on_and_after_its_due_date_then_weekly(
    conn: asyncpg.Connection, world: World
) -> None:
    order = await bill(conn, world.retailer, world.vendor, "TEL", 2)
    me = world.retailer.id
    expected = {-5: [], -3: [(me, "due_soon")], -2: [], 0: [(me, "due_today")],
                1: [(me, "overdue")], 3: [], 7: [(me, "overdue")], 15: [(me, "overdue")],
                30: [(me, "overdue")], 36: [], 37: [(me, "overdue")], 40: [],
                44: [(me, "overdue")]}
    for offset, wanted in expected.items():
        assert sent(await round_at(conn, at(day(offset)))) == wanted, offset
    steps = [(entry.day, entry.orders) for entry in reversed(await reminders.logged(conn))]
    assert steps == [(day(o), (order.number,)) for o, w in expected.items() if w]


async def test_the_round_and_rules_agree_on_the_step_a_bill_has_reached(
    conn: asyncpg.Connection,
) -> None:
    rules = Rules(ladder=(-2, 0, 3, 10), repeat_days=5)
    step_sql = reminders._STEP.format(L="($1::int[])", R="$2::int")  # noqa: SLF001 - one source
    for days in range(-10, 60):
        in_sql = await conn.fetchval(f"SELECT {step_sql} FROM (SELECT $3::int AS days) b",
                                     list(rules.ladder), rules.repeat_days, days)
        assert in_sql == rules.step(days), days
    assert [rules.step(d) for d in (-3, -2, 2, 3, 10, 14, 15, 21)] == [
        None, -2, 0, 3, 10, 10, 15, 20]
    assert Rules(repeat_days=0).step(400) == 30


async def test_one_message_a_day_lists_every_vendor_and_a_new_step_waits_for_tomorrow(
    conn: asyncpg.Connection, world: World
) -> None:
    oil = await bill(conn, world.retailer, world.vendor, "TEL", 1)
    sugar = await bill(conn, world.retailer, world.vendor2, "CHINI", 1)
    [first] = await round_at(conn, at(day(-3)))
    assert first.outcome == "send" and first.kind == "due_soon"
    assert [(v.vendor_name, [b.number for b in v.bills]) for v in first.vendors] == sorted(
        [("Himal Traders", [oil.number]), ("Terai Wholesale", [sugar.number])])
    assert first.total_paisa == oil.total_paisa + sugar.total_paisa
    assert await round_at(conn, at(day(-3), 15)) == []  # the same day: nothing more
    # A bill that reaches its first step later that day waits for tomorrow, with the others.
    later = await accepted_order(conn, world.retailer, world.vendor, [line("CHAMAL", 1)],
                                 now=at(day(-33), 16))
    assert await round_at(conn, at(day(-3), 17)) == []
    [next_day] = await round_at(conn, at(day(-2), 9))
    numbers = [b.number for v in next_day.vendors for b in v.bills]
    assert sorted(numbers) == sorted([oil.number, sugar.number, later.number])
    # The unique key holds even when the round is told to look again.
    assert await reminders.log(conn, user_id=world.retailer.id, kind="reminder", day=day(-2),
                               outcome="sent", reason="due_soon", now=at(day(-2))) is None


async def test_quiet_hours_defer_to_the_morning_and_are_logged_once(
    conn: asyncpg.Connection, world: World
) -> None:
    await bill(conn, world.retailer, world.vendor, "TEL", 1)
    for hour in (20, 22, 23):
        decisions = await round_at(conn, at(day(-3), hour))
        assert [d.outcome for d in decisions] in (["skip"], []), hour
    assert [(e.day, e.outcome, e.reason) for e in await reminders.logged(conn)] == [
        (day(-3), "skipped", "quiet_hours")]
    assert await round_at(conn, at(day(-2), 7, 59)) != []  # past midnight: another day, quiet
    assert sent(await round_at(conn, at(day(-2), 8))) == [(world.retailer.id, "due_soon")]
    assert [(e.day, e.outcome, e.reason) for e in await reminders.logged(conn)][:2] == [
        (day(-2), "sent", "due_soon"), (day(-2), "skipped", "quiet_hours")]
    # Quiet hours may be set to end later, or not to span midnight.
    rules = Rules(quiet_from=time(13, 0), quiet_until=time(15, 0))
    assert rules.quiet(at(DUE, 14)) and not rules.quiet(at(DUE, 15)) and not rules.quiet(at(DUE, 9))
    assert not Rules(quiet_from=time(0, 0), quiet_until=time(0, 0)).quiet(at(DUE, 3))


async def test_pause_days_send_nothing_and_the_step_is_caught_up_once_after(
    conn: asyncpg.Connection, world: World
) -> None:
    order = await bill(conn, world.retailer, world.vendor, "TEL", 1)
    tihar = Rules(pause_days=frozenset({day(-3), day(-2)}))
    for offset in (-3, -2):
        [paused] = await round_at(conn, at(day(offset)), tihar)
        assert (paused.outcome, paused.reason) == ("skip", "pause_day")
        assert await round_at(conn, at(day(offset), 14), tihar) == []
    [caught_up] = await round_at(conn, at(day(-1)), tihar)
    assert (caught_up.outcome, caught_up.kind) == ("send", "due_soon")
    assert await round_at(conn, at(DUE), tihar) != []  # the due day is its own step
    assert [e.orders for e in await reminders.logged(conn) if e.outcome == "sent"] == [
        (order.number,), (order.number,)]


async def test_what_is_paid_stops_at_once_and_a_part_paid_bill_shows_what_is_left(
    conn: asyncpg.Connection, world: World
) -> None:
    paid_off = await bill(conn, world.retailer, world.vendor, "TEL", 1)
    part = await bill(conn, world.retailer, world.vendor2, "CHINI", 2)
    assert len(await round_at(conn, at(day(-3)))) == 1
    await payments.record(conn, retailer_id=world.retailer.id, vendor_id=world.vendor.id,
                          amount_paisa=paid_off.total_paisa, method="cash", actor=world.vendor,
                          idempotency_key="paid-off", now=at(day(-1)))
    await payments.record(conn, retailer_id=world.retailer.id, vendor_id=world.vendor2.id,
                          amount_paisa=5_000, method="esewa", actor=world.vendor2,
                          idempotency_key="part", now=at(day(-1)))
    [today] = await round_at(conn, at(DUE))
    assert [(b.number, b.outstanding_paisa) for v in today.vendors for b in v.bills] == [
        (part.number, part.total_paisa - 5_000)]
    await payments.record(conn, retailer_id=world.retailer.id, vendor_id=world.vendor2.id,
                          amount_paisa=part.total_paisa - 5_000, method="cash",
                          actor=world.vendor2, idempotency_key="rest", now=at(day(0), 12))
    assert await round_at(conn, at(day(1))) == []


async def test_disputed_bills_and_accounts_with_a_claim_waiting_are_never_reminded_about(
    conn: asyncpg.Connection, world: World
) -> None:
    problem = await bill(conn, world.retailer, world.vendor, "TEL", 1)
    await orders.deliver(conn, problem.id, world.vendor, now=at(day(-29)))
    await disputes.report_problem(conn, problem.id, world.retailer, "missing", now=at(day(-20)))
    [only_disputed] = await round_at(conn, at(day(-3)))
    assert (only_disputed.outcome, only_disputed.reason) == ("skip", "disputed")
    assert [b.number for b in only_disputed.left_out] == [problem.number]
    assert await round_at(conn, at(day(-3), 15)) == []  # the skip settles the day

    other = await bill(conn, world.retailer, world.vendor2, "CHINI", 1, due=day(1))
    [mixed] = await round_at(conn, at(day(-2)))  # the other vendor's bill reached -3
    assert mixed.outcome == "send"
    assert [b.number for v in mixed.vendors for b in v.bills] == [other.number]
    assert [b.number for b in mixed.left_out] == [problem.number]

    # A claim waiting for the vendor holds that account while the vendor has not answered.
    waiting_bill = await bill(conn, world.retailer2, world.vendor2, "CHINI", 1, due=day(1))
    await claims.claim(conn, world.retailer2, vendor_id=world.vendor2.id, amount_paisa=1_000,
                       method="cash", request_key="said-paid", now=at(day(-1)))
    decisions = {d.retailer_id: d for d in await round_at(conn, at(day(1)))}
    waiting = decisions[world.retailer2.id]
    assert (waiting.outcome, waiting.reason) == ("skip", "claim_pending")
    due_today = decisions[world.retailer.id]
    assert (due_today.reason, [b.number for b in due_today.left_out]) == (
        "due_today", [problem.number])
    skipped = [(e.user_id, e.reason, e.details["held"]) for e in await reminders.logged(conn)
               if e.outcome == "skipped" and e.day == day(1)]
    assert skipped == [(world.retailer2.id, "claim_pending",
                        [{"order": waiting_bill.number, "why": "claim_pending"}])]
    # Unanswered for three days (the day it was made, and two more), it holds them no longer.
    assert await round_at(conn, at(day(1), 14)) == []
    going_on = {d.retailer_id: d for d in await round_at(conn, at(day(2)))}
    assert (going_on[world.retailer2.id].outcome, going_on[world.retailer2.id].reason) == (
        "send", "overdue")


async def test_the_window_is_read_from_the_retailers_last_message(
    conn: asyncpg.Connection, world: World
) -> None:
    await bill(conn, world.retailer, world.vendor, "TEL", 1)
    await bill(conn, world.retailer2, world.vendor, "TEL", 1)
    await conn.execute(
        """INSERT INTO inbound_messages (wamid, sender, wa_id, kind, body, sent_at)
           VALUES ('wamid.R1', $1, $1, 'text', '{}', $2)""",
        world.retailer.wa_id, at(day(-4), 15))
    decisions = {d.retailer_id: d for d in await round_at(conn, at(day(-3), 9))}
    assert decisions[world.retailer.id].window_open
    assert not decisions[world.retailer2.id].window_open
    templates = {e.user_id: e.template for e in await reminders.logged(conn)}
    assert templates == {world.retailer.id: None, world.retailer2.id: "khaacho_due_soon"}


async def test_a_blocked_shop_is_skipped_and_logged(conn: asyncpg.Connection,
                                                   world: World) -> None:
    await bill(conn, world.retailer, world.vendor, "TEL", 1)
    await conn.execute("UPDATE users SET active = false WHERE id = $1", world.retailer.id)
    [blocked] = await round_at(conn, at(day(-3)))
    assert (blocked.outcome, blocked.reason) == ("skip", "inactive")


async def test_a_dry_run_decides_the_same_and_writes_nothing(
    conn: asyncpg.Connection, world: World
) -> None:
    await bill(conn, world.retailer, world.vendor, "TEL", 1)
    dry = await reminders.run(conn, RULES, at(day(-3)), dry_run=True)
    assert sent(dry) == [(world.retailer.id, "due_soon")]
    assert await conn.fetchval("SELECT count(*) FROM reminder_log") == 0
    assert sent(await round_at(conn, at(day(-3)))) == sent(dry)


def test_rules_refuse_a_ladder_out_of_order_and_unknown_template_parameters() -> None:
    with pytest.raises(ValueError, match="in order"):
        Rules(ladder=(0, -3))
    with pytest.raises(ValueError, match="unknown parameters"):
        reminders.TemplateSpec("khaacho_overdue", ("name", "phone"))


async def test_a_vendor_gets_one_morning_digest_of_ages_and_yesterdays_payments(
    conn: asyncpg.Connection, world: World
) -> None:
    old = await bill(conn, world.retailer, world.vendor, "TEL", 1, due=day(-40))
    await bill(conn, world.retailer2, world.vendor, "TEL", 2)
    await payments.record(conn, retailer_id=world.retailer.id, vendor_id=world.vendor.id,
                          amount_paisa=4_000, method="esewa", actor=world.vendor,
                          idempotency_key="yesterday", now=at(day(-1), 18))
    await payments.record(conn, retailer_id=world.retailer.id, vendor_id=world.vendor.id,
                          amount_paisa=1_000, method="cash", actor=world.vendor,
                          idempotency_key="today", now=at(day(0), 7))
    assert await digests.run(conn, RULES, at(DUE, 7, 30)) == []  # before the digest time
    async with conn.transaction():
        found = await digests.run(conn, RULES, at(DUE, 8, 30))
    assert [d.vendor_id for d in found] == [world.vendor.id]  # vendor2 has nothing to read
    digest = found[0]
    assert digest.ageing.d61_90 == old.total_paisa - 5_000  # billed 70 days ago
    assert digest.ageing.d0_30 == 2 * 24_000  # billed 30 days ago
    assert (digest.received_count, digest.received_paisa) == (1, 4_000)
    assert [d.shop_name for d in digest.debtors] == ["Sita Store", "Ram Kirana"]
    assert await digests.run(conn, RULES, at(DUE, 11)) == []  # once a day
    assert await digests.run(conn, Rules(pause_days=frozenset({day(1)})), at(day(1))) == []


async def test_steps_count_nepal_days_whatever_the_hour_a_bill_was_billed(
    conn: asyncpg.Connection, world: World
) -> None:
    always = Rules(quiet_from=time(0, 0), quiet_until=time(0, 0))
    early = await accepted_order(conn, world.retailer, world.vendor, [line("TEL", 1)],
                                 now=at(day(-30), 0, 30))  # due 00:30 on DUE, Nepal time
    late = await accepted_order(conn, world.retailer2, world.vendor, [line("TEL", 1)],
                                now=at(day(-31), 23, 50))  # due 23:50 the day before DUE
    assert sent(await round_at(conn, at(day(-5), 23, 59), always)) == []
    assert sent(await round_at(conn, at(day(-4), 0, 1), always)) == [
        (world.retailer2.id, "due_soon")]
    assert sent(await round_at(conn, at(day(-4), 23, 59), always)) == []
    [first] = await round_at(conn, at(day(-3), 0, 1), always)  # the late bill is at -2 now
    assert first.retailer_id == world.retailer.id
    assert [(b.number, b.days) for v in first.vendors for b in v.bills] == [(early.number, -3)]
    assert [e.orders for e in await reminders.logged(conn) if e.outcome == "sent"] == [
        (early.number,), (late.number,)]
