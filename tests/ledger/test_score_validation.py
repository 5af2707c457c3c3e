"""The score ranks a simulated town (tests/ledger/score_sim.py): scored as of one date, it must
tell who defaults in the months after better than the naive rule (share of bills paid late)."""

from __future__ import annotations

from datetime import timedelta

import asyncpg

from ledger import score_data
from ledger.score import compute
from tests.ledger import score_sim

SCORED_AFTER = timedelta(days=365)
FOLLOW_UP = timedelta(days=115)
AUC_FLOOR = 0.70


async def test_score_ranks_who_defaults_better_than_the_naive_rule(
    conn: asyncpg.Connection,
) -> None:
    town = await score_sim.build(conn, retailers=80, days=480, seed=12)
    as_of = town.start + SCORED_AFTER
    ids = [s.retailer.id for s in town.retailers]
    now = await score_data.gather(conn, ids, as_of)
    later = await score_data.gather(conn, ids, as_of + FOLLOW_UP)
    risk, naive, bad = [], [], []
    for rid in ids:
        facts = now[rid]
        score = compute(facts)
        if score.score is None or score_sim.already_bad(facts):
            continue
        risk.append(-float(score.score))
        naive.append(score_sim.naive(facts))
        bad.append(score_sim.defaulted(later[rid], as_of))
    ours, theirs = score_sim.auc(risk, bad), score_sim.auc(naive, bad)
    print(f"scored {len(bad)}, defaulted {sum(bad)}, AUC score {ours:.3f}, naive {theirs:.3f}")
    assert sum(bad) >= 8 and len(bad) - sum(bad) >= 20, (len(bad), sum(bad))
    assert ours > theirs
    assert ours >= AUC_FLOOR
