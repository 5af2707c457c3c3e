"""The credit score: thin files get none and say why, each factor moves it the right way, the
texts read in both languages, and a past score never changes when later entries arrive."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import asyncpg

from ledger import payments, score_data, scores
from ledger.errors import NotPermitted
from ledger.score import MAX_POINTS, Factor, band, compute, odds
from ledger.score_data import Bill, Facts
from tests.ledger.conftest import World, line
from tests.ledger.helpers import accepted_order

AS_OF = datetime(2026, 6, 1, tzinfo=UTC)


def bills(n: int = 12, *, every: int = 20, late: int = 0, unpaid_last: int = 0,
          amount: int = 1_000_000, vendors: int = 1) -> tuple[Bill, ...]:
    """`n` bills, one every `every` days back from AS_OF, 30-day terms, paid `late` days after
    their due date (or before it), the last `unpaid_last` not paid at all."""
    found = []
    for i in range(n):
        accepted = AS_OF - timedelta(days=every * (n - i))
        due = accepted + timedelta(days=30)
        paid_at = due + timedelta(days=late)
        unpaid = i >= n - unpaid_last or paid_at > AS_OF
        found.append(Bill(i + 1, 1 + i % vendors, accepted, due, amount,
                          0 if unpaid else amount, None if unpaid else paid_at))
    return tuple(found)


def facts(**kw: object) -> Facts:
    base = Facts(retailer_id=1, as_of=AS_OF, limit_paisa=10_000_000, bills=bills(), payments=12)
    return replace(base, **kw)  # type: ignore[arg-type]


def points(score_facts: Facts, key: str) -> int:
    score = compute(score_facts)
    return next(f.points for f in score.factors if f.key == key)


def total(score_facts: Facts) -> int:
    score = compute(score_facts).score
    assert score is not None
    return score


def test_thin_files_get_no_score_and_say_why() -> None:
    for thin, says in (
        (facts(bills=()), "No purchases"),
        (facts(bills=bills(8, every=10)), "days of history"),
        (facts(bills=bills(4, every=40)), "billed orders"),
    ):
        score = compute(thin)
        assert score.score is None and score.band is None and score.factors == ()
        assert score.reason is not None and says in score.reason
        assert score.reason_ne


def test_a_good_record_scores_high_and_every_factor_is_explained_in_both_languages() -> None:
    score = compute(facts(bills=bills(18, every=20, late=-3)))
    assert score.score is not None and 300 <= score.score <= 900
    assert score.band in ("A", "B")
    keys = {f.key for f in score.factors}
    assert keys == set(MAX_POINTS)
    for factor in score.factors:
        assert factor.en and factor.ne and factor.en != factor.ne
        assert factor.points <= MAX_POINTS[factor.key]
    timely = next(f for f in score.factors if f.key == "timeliness")
    assert timely.ne == "पछिल्लो ३ महिनामा १००% बिल समयमै तिर्नुभयो"
    assert timely.en == "Paid 100% of bills on time in the last 3 months"


def test_paying_late_lowers_the_score_and_more_so_when_later() -> None:
    on_time, late, later = (total(facts(bills=bills(late=d))) for d in (0, 10, 40))
    assert on_time > late > later
    assert points(facts(bills=bills(late=0)), "timeliness") > points(
        facts(bills=bills(late=10)), "timeliness")
    assert points(facts(bills=bills(late=5)), "days_past_due") > points(
        facts(bills=bills(late=25)), "days_past_due")


def test_recent_late_payments_count_more_than_old_ones() -> None:
    good, late = bills(12, late=0), bills(12, late=20)
    old_late = late[:6] + good[6:]
    recent_late = good[:6] + late[6:]
    assert total(facts(bills=old_late)) > total(facts(bills=recent_late))


def test_overdue_now_lowers_the_score_more_as_it_ages() -> None:
    clean = facts(bills=bills(12, late=0))
    fresh = facts(bills=bills(12, late=0, unpaid_last=2))
    assert points(clean, "overdue") > points(fresh, "overdue")
    older = facts(bills=bills(12, late=0, unpaid_last=4))
    assert points(fresh, "overdue") >= points(older, "overdue")
    assert total(clean) > total(fresh) >= total(older)


def test_using_more_of_the_limit_lowers_the_score() -> None:
    owing = facts(bills=bills(12, unpaid_last=1))  # not yet due: owed, not overdue
    small, big = replace(owing, limit_paisa=100_000_000), replace(owing, limit_paisa=1_100_000)
    assert points(small, "utilisation") > points(big, "utilisation")
    assert points(replace(owing, limit_paisa=0), "utilisation") == 0


def test_longer_tenure_raises_the_score() -> None:
    assert total(facts(bills=bills(30, every=25))) > total(facts(bills=bills(8, every=20)))
    assert points(facts(bills=bills(30, every=25)), "tenure") > points(
        facts(bills=bills(8, every=20)), "tenure")


def test_irregular_and_falling_purchases_lower_the_score() -> None:
    steady = facts(bills=bills(12, every=20))
    gappy = facts(bills=bills(12, every=20)[:-4])  # nothing in the last ~80 days
    assert points(steady, "regularity") > points(gappy, "regularity")
    shrinking = tuple(replace(b, total_paisa=b.total_paisa // 4, paid_paisa=b.paid_paisa // 4)
                      if b.accepted_at > AS_OF - timedelta(days=90) else b
                      for b in bills(12, every=20))
    assert points(steady, "trend") > points(facts(bills=shrinking), "trend")


def test_bounced_payments_lower_the_score() -> None:
    clean = facts()
    bounced = facts(reversals=(AS_OF - timedelta(days=20),))
    twice = facts(reversals=(AS_OF - timedelta(days=50), AS_OF - timedelta(days=20)))
    long_ago = facts(reversals=(AS_OF - timedelta(days=400),))
    assert total(clean) > total(bounced) > total(twice)
    assert total(long_ago) == total(clean)


def test_more_vendors_raise_the_score_a_little() -> None:
    assert points(facts(bills=bills(vendors=3)), "vendors") > points(facts(), "vendors")


def test_disputes_and_acknowledgements_are_present_but_neutral() -> None:
    score = compute(facts())
    neutral = {f.key: f for f in score.factors if f.key in ("disputes", "acknowledged")}
    assert set(neutral) == {"disputes", "acknowledged"}
    assert all(f.points == 0 and "not recorded yet" in f.en for f in neutral.values())


def test_improvements_name_what_would_raise_the_score_most() -> None:
    score = compute(facts(bills=bills(12, late=15, unpaid_last=3)))
    assert 2 <= len(score.improvements) <= 3
    gains = [i.gain for i in score.improvements]
    assert gains == sorted(gains, reverse=True) and gains[0] > 0
    assert {"overdue", "on_time"} <= {i.key for i in score.improvements}
    assert all(i.en and i.ne for i in score.improvements)
    perfect = compute(facts(bills=bills(30, every=12, late=-2, vendors=3)))
    assert all(i.gain > 0 for i in perfect.improvements)


def test_the_scale_doubles_the_odds_every_50_points_and_bands_follow_it() -> None:
    assert odds(650) == 2 * odds(600) and odds(600) == 20
    assert [band(s) for s in (900, 720, 700, 600, 530, 300)] == ["A", "A", "B", "C", "D", "E"]
    assert Factor("x", 1, "a", "b").text("ne") == "b"


async def test_later_entries_do_not_change_a_past_score(conn: asyncpg.Connection,
                                                        world: World) -> None:
    start = datetime(2025, 1, 1, 5, tzinfo=UTC)
    for i in range(6):
        order = await accepted_order(conn, world.retailer, world.vendor, [line("TEL", 10)],
                                     now=start + timedelta(days=25 * i))
        assert order.due_at is not None
        await payments.record(conn, retailer_id=world.retailer.id, vendor_id=world.vendor.id,
                              amount_paisa=order.total_paisa, method="cash",
                              actor=world.operator, idempotency_key=f"pay:{i}",
                              now=order.due_at - timedelta(days=2))
    as_of = start + timedelta(days=140)
    before = await scores.for_retailer(conn, world.operator, world.retailer.id, as_of=as_of)
    assert before.score is not None
    facts_before = (await score_data.gather(conn, [world.retailer.id], as_of))[world.retailer.id]
    # Later: another order, paid late, and that payment bounced.
    late_order = await accepted_order(conn, world.retailer, world.vendor, [line("TEL", 50)],
                                      now=as_of + timedelta(days=1))
    paid = await payments.record(conn, retailer_id=world.retailer.id, vendor_id=world.vendor.id,
                                 amount_paisa=late_order.total_paisa, method="cheque",
                                 actor=world.operator, idempotency_key="pay:late",
                                 now=as_of + timedelta(days=90))
    await payments.reverse_payment(conn, paid.payment_id, world.operator, "bounced",
                                   idempotency_key="rev:late", now=as_of + timedelta(days=95))
    after = await scores.for_retailer(conn, world.operator, world.retailer.id, as_of=as_of)
    facts_after = (await score_data.gather(conn, [world.retailer.id], as_of))[world.retailer.id]
    assert facts_after == facts_before
    assert after == before
    now = await scores.for_retailer(conn, world.operator, world.retailer.id,
                                    as_of=as_of + timedelta(days=200))
    assert now != before  # the later entries do count for a later date


async def test_a_payment_reversed_after_the_date_still_counted_then(
    conn: asyncpg.Connection, world: World,
) -> None:
    start = datetime(2025, 1, 1, 5, tzinfo=UTC)
    order = await accepted_order(conn, world.retailer, world.vendor, [line("TEL", 10)],
                                 now=start)
    paid = await payments.record(conn, retailer_id=world.retailer.id, vendor_id=world.vendor.id,
                                 amount_paisa=order.total_paisa, method="cheque",
                                 actor=world.operator, idempotency_key="pay:1",
                                 now=start + timedelta(days=10))
    await payments.reverse_payment(conn, paid.payment_id, world.operator, "bounced",
                                   idempotency_key="rev:1", now=start + timedelta(days=20))
    gather = score_data.gather
    between = (await gather(conn, [world.retailer.id], start + timedelta(days=15)))[
        world.retailer.id]
    after = (await gather(conn, [world.retailer.id], start + timedelta(days=25)))[
        world.retailer.id]
    assert between.bills[0].paid_at == start + timedelta(days=10) and between.reversals == ()
    assert after.bills[0].paid_paisa == 0 and len(after.reversals) == 1
    assert after.payments == between.payments == 1


async def test_who_may_read_a_score(conn: asyncpg.Connection, world: World) -> None:
    await accepted_order(conn, world.retailer, world.vendor, [line("TEL", 1)])
    for reader in (world.retailer, world.vendor, world.operator, world.admin):
        await scores.for_retailer(conn, reader, world.retailer.id)
    for stranger in (world.retailer2, world.vendor2):
        try:
            await scores.for_retailer(conn, stranger, world.retailer.id)
        except NotPermitted:
            continue
        raise AssertionError(f"{stranger.name} read another retailer's score")
    try:
        await scores.town(conn, world.vendor)
    except NotPermitted:
        pass
    else:
        raise AssertionError("a vendor read the whole town's scores")
    town = await scores.town(conn, world.admin)
    assert {t.retailer_id for t in town} >= {world.retailer.id, world.retailer2.id}
