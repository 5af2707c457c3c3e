"""Suggested credit limits: the rule's direction, the daily review offering each suggestion once
to staff, and approving or dismissing it (operators too, once, only while it still holds)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import asyncpg
import pytest

from dialogs import jobs
from ledger import credit, khata, limit_suggestions, scores
from ledger.errors import AlreadyDone, LimitChangedSince, NotPermitted
from ledger.limit_suggestions import Rules, propose
from tests.ledger.conftest import World

RULES = Rules(cap_paisa=500_000_00, step_paisa=1_000_00, min_change_percent=20,
              review_at=time(10, 0))
# 10:30 in Nepal on 2026-11-20: after the review time.
NOW = datetime(2026, 11, 20, 4, 45, tzinfo=UTC)
TIMING = jobs.Timing(draft_ttl=timedelta(hours=1), offer_timeout=timedelta(minutes=30),
                     limits=RULES)


def suggest(band: str | None, monthly_rupees: int, limit_rupees: int = 20_000, *,
            overdue: int = 0, exposure_rupees: int = 0) -> int | None:
    found = propose(RULES, band=band, limit_paisa=limit_rupees * 100,
                    monthly_paisa=monthly_rupees * 100, exposure_paisa=exposure_rupees * 100,
                    overdue_paisa=overdue * 100)
    return None if found is None else found.suggested_paisa // 100


def test_a_better_band_and_more_purchases_suggest_a_higher_limit() -> None:
    assert [suggest(b, 30_000) for b in "ABCDE"] == [40_000, 30_000, None, None, None]
    assert suggest("A", 30_000, 30_000) == 45_000
    assert suggest("B", 35_000, 20_000) == 35_000 > suggest("B", 30_000, 20_000)  # type: ignore[operator]
    assert suggest("C", 50_000, 20_000) == 30_000
    assert suggest("D", 100_000, 20_000) == 30_000


def test_no_score_no_suggestion() -> None:
    assert suggest(None, 100_000) is None


def test_a_suggestion_at_most_doubles_is_capped_rounded_and_material() -> None:
    assert suggest("A", 90_000, 10_000) == 20_000
    doubled = propose(RULES, band="A", limit_paisa=10_000_00, monthly_paisa=90_000_00,
                      exposure_paisa=0, overdue_paisa=0)
    assert doubled is not None and doubled.why == "doubling"
    capped = propose(RULES, band="A", limit_paisa=400_000_00, monthly_paisa=1_000_000_00,
                     exposure_paisa=0, overdue_paisa=0)
    assert capped is not None and (capped.suggested_paisa, capped.why) == (500_000_00, "capped")
    assert suggest("B", 30_555) == 30_000               # rounded down to the step
    assert suggest("B", 23_000) is None                 # +15%: not worth a tap
    assert suggest("B", 24_000) == 24_000               # +20%
    assert suggest("A", 1_000_000, 500_000) is None     # at the cap already


def test_a_decrease_only_for_weak_bands_behind_on_a_used_limit() -> None:
    # Good bands are never cut for buying less; a weak band only when overdue and using it.
    assert suggest("A", 1_000, 50_000, overdue=5_000, exposure_rupees=45_000) is None
    assert suggest("E", 1_000, 50_000) is None
    assert suggest("E", 1_000, 50_000, overdue=5_000, exposure_rupees=10_000) is None
    assert suggest("E", 1_000, 50_000, overdue=5_000, exposure_rupees=40_000) == 25_000
    assert suggest("D", 100_000, 50_000, overdue=5_000, exposure_rupees=40_000) == 30_000
    assert suggest("D", 100_000, 200_000, overdue=5_000, exposure_rupees=150_000) == 100_000
    assert suggest("E", 100_000, 20_000) is None        # E: no increase, however much it buys


async def history(conn: asyncpg.Connection, world: World, *, bills: int = 20,
                  rupees: int = 15_000, late_days: int = 5) -> None:
    """A year of a vendor's book for `world.retailer`: a bill every 15 days up to NOW, each
    paid `late_days` after it (within the 30-day terms when small); a limit of Rs 20,000."""
    vendor, retailer = world.vendor.phone, world.retailer.phone
    lines = ["date,vendor_phone,retailer_phone,kind,amount,reference,method\n"]
    start = NOW.date() - timedelta(days=15 * bills)
    for n in range(bills):
        billed = start + timedelta(days=15 * n)
        lines.append(f"{billed},{vendor},{retailer},sale,{rupees},B-{n},\n")
        paid = billed + timedelta(days=late_days)
        if paid < NOW.date():
            lines.append(f"{paid},{vendor},{retailer},payment,{rupees},R-{n},cash\n")
    imported = await khata.import_book(conn, lines, starter_limit_paisa=0,
                                       today=NOW.date())
    assert imported.ok, imported.problems
    await credit.set_limit(conn, world.retailer.id, 20_000_00, world.admin, "to start with")


async def test_the_review_offers_each_suggestion_once_to_every_staff_member(
    conn: asyncpg.Connection, world: World
) -> None:
    await history(conn, world)
    score = await scores.for_retailer(conn, world.admin, world.retailer.id, as_of=NOW)
    assert score.score is not None and score.band in ("A", "B"), score
    before = (await credit.position(conn, world.retailer.id)).limit_paisa
    early = await jobs.suggest_limits(conn, NOW.replace(hour=3), TIMING)  # 08:45 in Nepal
    assert early == []
    offers = await jobs.suggest_limits(conn, NOW, TIMING)
    assert sorted(r.to_user_id for r in offers) == sorted([world.admin.id, world.operator.id])
    s = offers[0].context["s"]
    assert (s["current_paisa"], s["score"], s["band"]) == (before, score.score, score.band)
    assert s["suggested_paisa"] > before and s["monthly_paisa"] == 25_000_00  # 5 bills in 90 days
    assert [b.id for b in offers[0].buttons] == [f"limit:approve:{s['id']}",
                                                 f"limit:dismiss:{s['id']}"]
    # Retailers without a score (retailer2) got nothing; a second round, and tomorrow's review
    # with the same suggestion still waiting, offer nothing again.
    assert await jobs.suggest_limits(conn, NOW, TIMING) == []
    assert await jobs.suggest_limits(conn, NOW + timedelta(days=1), TIMING) == []
    waiting, count = await limit_suggestions.pending(conn, world.operator)
    assert count == 1 and [w.retailer_id for w in waiting] == [world.retailer.id]
    rounds = await conn.fetch("SELECT day, finished_at FROM limit_review_rounds ORDER BY day")
    assert [r["day"] for r in rounds] == [date(2026, 11, 20), date(2026, 11, 21)]
    assert all(r["finished_at"] is not None for r in rounds)


async def test_a_new_suggestion_supersedes_the_one_waiting(
    conn: asyncpg.Connection, world: World
) -> None:
    await history(conn, world)
    first = (await jobs.suggest_limits(conn, NOW, TIMING))[0].context["s"]
    wider = Rules(cap_paisa=RULES.cap_paisa, step_paisa=5_000_00, review_at=RULES.review_at)
    second = (await jobs.suggest_limits(conn, NOW + timedelta(days=1), jobs.Timing(
        draft_ttl=TIMING.draft_ttl, offer_timeout=TIMING.offer_timeout, limits=wider)))
    assert second and second[0].context["s"]["id"] != first["id"]
    old = await limit_suggestions.get(conn, first["id"])
    assert old.status == "SUPERSEDED"
    with pytest.raises(AlreadyDone):
        await limit_suggestions.approve(conn, first["id"], world.operator)


async def _suggested(conn: asyncpg.Connection, world: World) -> int:
    await history(conn, world)
    offers = await jobs.suggest_limits(conn, NOW, TIMING)
    return int(offers[0].context["s"]["id"])


async def test_an_operator_approves_a_suggestion_once_and_it_is_audited(
    conn: asyncpg.Connection, world: World
) -> None:
    suggestion = await limit_suggestions.get(conn, await _suggested(conn, world))
    done = await limit_suggestions.approve(conn, suggestion.id, world.operator)
    assert done.position.limit_paisa == suggestion.suggested_limit_paisa
    assert done.suggestion.status == "APPROVED" and done.suggestion.decided_by == world.operator.id
    audited = await conn.fetchrow(
        "SELECT * FROM audit_log WHERE action = 'credit.set_limit' ORDER BY id DESC LIMIT 1")
    assert audited["actor_id"] == world.operator.id
    assert audited["subject"] == f"retailer:{world.retailer.id}"
    assert audited["reason"] == f"suggested from score {suggestion.score} (band {suggestion.band})"
    assert audited["details"]["old_paisa"] == suggestion.current_limit_paisa
    assert audited["details"]["new_paisa"] == suggestion.suggested_limit_paisa
    assert audited["details"]["suggestion_id"] == suggestion.id
    # Tapping again, or the other button, repeats nothing.
    audits = await conn.fetchval("SELECT count(*) FROM audit_log")
    with pytest.raises(AlreadyDone):
        await limit_suggestions.approve(conn, suggestion.id, world.admin)
    with pytest.raises(AlreadyDone):
        await limit_suggestions.dismiss(conn, suggestion.id, world.admin)
    assert await conn.fetchval("SELECT count(*) FROM audit_log") == audits
    # Operators still may not set a limit of their own choosing.
    with pytest.raises(NotPermitted):
        await credit.set_limit(conn, world.retailer.id, 1_000_000_00, world.operator, "why not")


async def test_a_suggestion_made_from_a_limit_changed_since_changes_nothing(
    conn: asyncpg.Connection, world: World
) -> None:
    suggestion = await limit_suggestions.get(conn, await _suggested(conn, world))
    await credit.set_limit(conn, world.retailer.id, 25_000_00, world.admin, "talked to them")
    with pytest.raises(LimitChangedSince) as refused:
        await limit_suggestions.approve(conn, suggestion.id, world.operator)
    assert refused.value.params["now_paisa"] == 25_000_00
    assert (await credit.position(conn, world.retailer.id)).limit_paisa == 25_000_00
    assert (await limit_suggestions.get(conn, suggestion.id)).status == "PENDING"


async def test_a_dismissal_is_audited_and_leaves_the_limit(
    conn: asyncpg.Connection, world: World
) -> None:
    suggestion = await limit_suggestions.get(conn, await _suggested(conn, world))
    dismissed = await limit_suggestions.dismiss(conn, suggestion.id, world.admin)
    assert dismissed.status == "DISMISSED"
    assert (await credit.position(conn, world.retailer.id)).limit_paisa == (
        suggestion.current_limit_paisa)
    audited = await conn.fetchrow(
        "SELECT * FROM audit_log WHERE action = 'credit.limit_suggestion_dismissed'")
    assert audited["actor_id"] == world.admin.id
    assert audited["details"]["suggestion_id"] == suggestion.id


async def test_vendors_and_retailers_cannot_approve_or_list_suggestions(
    conn: asyncpg.Connection, world: World
) -> None:
    suggestion = await limit_suggestions.get(conn, await _suggested(conn, world))
    for who in (world.vendor, world.retailer):
        with pytest.raises(NotPermitted):
            await limit_suggestions.approve(conn, suggestion.id, who)
        with pytest.raises(NotPermitted):
            await limit_suggestions.dismiss(conn, suggestion.id, who)
        with pytest.raises(NotPermitted):
            await limit_suggestions.pending(conn, who)
    assert (await limit_suggestions.get(conn, suggestion.id)).status == "PENDING"
    assert (await credit.position(conn, world.retailer.id)).limit_paisa == (
        suggestion.current_limit_paisa)
    # Nor can the app's role decide one by hand for them: the guard wants staff.
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="staff decide"):
        await conn.execute(
            """UPDATE limit_suggestions SET status = 'APPROVED', decided_by = $2,
                      decided_at = now() WHERE id = $1""", suggestion.id, world.vendor.id)
