"""A retailer's credit score from their ledger facts: 300–900, a band A–E, and why.

A pure function of `ledger.score_data.Facts` (no database, no clock: the facts carry their
`as_of`), so a past score can be recomputed and agree, and every factor can be tested alone.
The scale is a scorecard: each factor adds or takes points from a base of 600, and every
`PDO` (50) points doubles the odds of a retailer paying as agreed — see docs/credit-score.md
for the factors, their points, how they were chosen and how well they rank a simulated town.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from ledger.score_data import Bill, Facts
from locales import Language
from locales.formats import digits, money, percent

BASE_SCORE = 600
BASE_ODDS = 20.0          # good : bad at the base score (a 1 in 21 chance of default)
PDO = 50                  # points to double the odds
MIN_SCORE, MAX_SCORE = 300, 900
MIN_DAYS = 90             # too little history below three months …
MIN_BILLS = 5             # … or five billed orders
HALF_LIFE_DAYS = 90       # a bill due three months ago weighs half as much as one due today
GRACE_DAYS = 1            # paid the morning after the due date is still on time
MONTH = timedelta(days=30)
RECENT = timedelta(days=90)
YEAR = timedelta(days=365)
REGULAR_MONTHS = 6
MAX_IMPROVEMENTS = 3

# (lowest score, band, meaning in English, in Nepali), best first.
BANDS: tuple[tuple[int, str, str, str], ...] = (
    (720, "A", "very low risk: pays as agreed", "धेरै कम जोखिम: भाखामै तिर्ने"),
    (660, "B", "low risk", "कम जोखिम"),
    (600, "C", "moderate risk: watch the dues", "मध्यम जोखिम: बाँकीमा ध्यान दिनुहोस्"),
    (520, "D", "high risk: lend little, short terms",
     "उच्च जोखिम: थोरै उधारो, छोटो भाखा"),
    (MIN_SCORE, "E", "very high risk: cash first", "धेरै उच्च जोखिम: पहिले नगद"),
)


@dataclass(frozen=True)
class Factor:
    key: str
    points: int
    en: str
    ne: str

    def text(self, lang: Language) -> str:
        return self.ne if lang == "ne" else self.en


@dataclass(frozen=True)
class Improvement:
    key: str
    gain: int      # points it could add at most
    en: str
    ne: str

    def text(self, lang: Language) -> str:
        return self.ne if lang == "ne" else self.en


@dataclass(frozen=True)
class Score:
    as_of: datetime
    score: int | None          # None: too little history (see `reason`)
    band: str | None
    reason: str | None         # why there is no score, in English …
    reason_ne: str | None      # … and in Nepali
    factors: tuple[Factor, ...]
    improvements: tuple[Improvement, ...]

    @property
    def meaning(self) -> tuple[str, str] | None:
        """The band's plain meaning (English, Nepali)."""
        for _, band, en, ne in BANDS:
            if band == self.band:
                return en, ne
        return None

    def top(self, n: int = 3) -> tuple[Factor, ...]:
        """The factors that moved the score most, either way."""
        return tuple(sorted((f for f in self.factors if f.points),
                            key=lambda f: -abs(f.points))[:n])


def odds(score: int) -> float:
    """Good : bad odds the scale gives a score (20 : 1 at 600, doubling every 50 points)."""
    return BASE_ODDS * 2 ** ((score - BASE_SCORE) / PDO)


def band(score: int) -> str:
    return next(b for low, b, _, _ in BANDS if score >= low)


def _n(value: int, lang: Language) -> str:
    return digits(str(value), lang)


def _days(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 86400


def _late_days(bill: Bill, as_of: datetime) -> float:
    """Days past due: until paid in full, or until as_of while still unpaid."""
    end = bill.paid_at if bill.paid_at is not None else as_of
    late = _days(bill.due_at, end)
    return 0.0 if late <= GRACE_DAYS else late


def _weight(bill: Bill, as_of: datetime) -> float:
    return float(0.5 ** (max(0.0, _days(bill.due_at, as_of)) / HALF_LIFE_DAYS))


def _clamp(value: float, low: int, high: int) -> int:
    return max(low, min(high, round(value)))


def _timeliness(facts: Facts, due: Sequence[Bill]) -> Factor:
    if not due:
        return Factor("timeliness", 0, "No bill has fallen due yet",
                      "अहिलेसम्म कुनै बिलको भाखा पुगेको छैन")
    weights = [_weight(b, facts.as_of) for b in due]
    on_time = [_late_days(b, facts.as_of) == 0 for b in due]
    share = sum(w for w, ok in zip(weights, on_time, strict=True) if ok) / sum(weights)
    points = _clamp(200 * (share - 0.8), -120, 40)
    recent = [ok for b, ok in zip(due, on_time, strict=True) if b.due_at > facts.as_of - RECENT]
    if recent:
        shown = sum(recent) / len(recent)
        return Factor("timeliness", points,
                      f"Paid {percent(shown, 'en')} of bills on time in the last 3 months",
                      f"पछिल्लो ३ महिनामा {percent(shown, 'ne')} बिल समयमै तिर्नुभयो")
    shown = sum(on_time) / len(on_time)
    return Factor("timeliness", points,
                  f"Paid {percent(shown, 'en')} of the {len(due)} bills due so far on time",
                  f"भाखा पुगेका {_n(len(due), 'ne')} बिलमध्ये {percent(shown, 'ne')} समयमै "
                  "तिर्नुभयो")


def _days_past_due(facts: Facts, due: Sequence[Bill]) -> Factor:
    if not due:
        return Factor("days_past_due", 0, "No bill has fallen due yet",
                      "अहिलेसम्म कुनै बिलको भाखा पुगेको छैन")
    weights = [_weight(b, facts.as_of) for b in due]
    mean = sum(w * _late_days(b, facts.as_of) for w, b in zip(weights, due, strict=True)) / sum(
        weights)
    points = _clamp(20 - 20 * math.log2(1 + mean), -100, 20)
    if mean < 0.5:
        return Factor("days_past_due", points, "Bills are paid by their due date",
                      "बिलहरू भाखाभित्रै तिरिएका छन्")
    days = round(mean)
    return Factor("days_past_due", points,
                  f"On average {days} days past due per bill (recent months count more)",
                  f"बिल औसतमा {_n(days, 'ne')} दिन ढिलो तिरिएको (पछिल्ला महिना बढी गनिन्छन्)")


def _overdue(facts: Facts) -> Factor:
    late = [b for b in facts.bills if b.due_at < facts.as_of and b.outstanding_paisa > 0]
    if not late:
        return Factor("overdue", 20, "Nothing overdue now", "अहिले भाखा नाघेको बाँकी छैन")
    amount = sum(b.outstanding_paisa for b in late)
    age = math.floor(max(_days(b.due_at, facts.as_of) for b in late))
    points = -10 if age <= 7 else -40 if age <= 30 else -80 if age <= 60 else -140
    return Factor("overdue", points,
                  f"{money(amount, 'en')} overdue now, the oldest {age} days past due",
                  f"अहिले {money(amount, 'ne')} भाखा नाघेको, सबैभन्दा पुरानो {_n(age, 'ne')} दिन")


def _utilisation(facts: Facts) -> Factor:
    owed = sum(b.outstanding_paisa for b in facts.bills)
    if facts.limit_paisa <= 0:
        return Factor("utilisation", 0, "No credit limit set", "उधारो सीमा तोकिएको छैन")
    used = owed / facts.limit_paisa
    points = 20 if used <= 0.3 else 5 if used <= 0.6 else -15 if used <= 0.9 else (
        -40 if used <= 1.0 else -60)
    limit = facts.limit_paisa
    return Factor("utilisation", points,
                  f"Using {percent(used, 'en')} of the {money(limit, 'en')} credit limit",
                  f"{money(limit, 'ne')} उधारो सीमाको {percent(used, 'ne')} प्रयोगमा")


def _tenure(facts: Facts) -> Factor:
    months = math.floor(_days(facts.bills[0].accepted_at, facts.as_of) / 30.44)
    points = -20 if months < 6 else 0 if months < 12 else 15 if months < 24 else 30
    return Factor("tenure", points,
                  f"Buying on credit through Khaacho for {months} months",
                  f"खाचोमार्फत {_n(months, 'ne')} महिनादेखि उधारो किनमेल")


def _regularity(facts: Facts) -> Factor:
    span = min(REGULAR_MONTHS, max(3, math.ceil(_days(facts.bills[0].accepted_at, facts.as_of)
                                                / 30)))
    active = sum(
        any(facts.as_of - (i + 1) * MONTH < b.accepted_at <= facts.as_of - i * MONTH
            for b in facts.bills)
        for i in range(span))
    points = _clamp(40 * (active / span - 0.5), -20, 20)
    return Factor("regularity", points,
                  f"Bought in {active} of the last {span} months",
                  f"पछिल्लो {_n(span, 'ne')} महिनामध्ये {_n(active, 'ne')} महिना किनमेल")


def _trend(facts: Facts) -> Factor:
    as_of = facts.as_of
    if _days(facts.bills[0].accepted_at, as_of) < 2 * RECENT.days:
        return Factor("trend", 0, "Too early to compare purchases with earlier months",
                      "खरिद अघिल्ला महिनासँग तुलना गर्न अझै चाँडो")
    recent = sum(b.total_paisa for b in facts.bills if b.accepted_at > as_of - RECENT)
    before = sum(b.total_paisa for b in facts.bills
                 if as_of - 2 * RECENT < b.accepted_at <= as_of - RECENT)
    if before == 0:
        return Factor("trend", 0, "No purchases 3 to 6 months ago to compare with",
                      "तुलनाका लागि ३ देखि ६ महिनाअघि खरिद छैन")
    ratio = recent / before
    points = -30 if ratio < 0.5 else -10 if ratio < 0.8 else 5 if ratio <= 1.5 else 0
    change = abs(ratio - 1)
    if change < 0.1:
        return Factor("trend", points, "Purchases steady over the last 6 months",
                      "पछिल्लो ६ महिना खरिद स्थिर")
    if ratio < 1:
        return Factor("trend", points,
                      f"Purchases in the last 3 months {percent(change, 'en')} below the 3 before",
                      f"पछिल्लो ३ महिनाको खरिद त्यसअघिको ३ महिनाभन्दा {percent(change, 'ne')} कम")
    return Factor("trend", points,
                  f"Purchases in the last 3 months {percent(change, 'en')} above the 3 before",
                  f"पछिल्लो ३ महिनाको खरिद त्यसअघिको ३ महिनाभन्दा {percent(change, 'ne')} बढी")


def _reversals(facts: Facts) -> Factor:
    count = sum(1 for at in facts.reversals if at > facts.as_of - YEAR)
    if count == 0:
        return Factor("reversals", 10, "No payment reversed (bounced) in the last 12 months",
                      "पछिल्लो १२ महिनामा कुनै भुक्तानी फिर्ता (बाउन्स) भएन")
    return Factor("reversals", max(-60, -30 * count),
                  f"{count} payment(s) reversed (bounced) in the last 12 months",
                  f"पछिल्लो १२ महिनामा {_n(count, 'ne')} भुक्तानी फिर्ता (बाउन्स) भयो")


def _vendors(facts: Facts) -> Factor:
    count = len({b.vendor_id for b in facts.bills if b.accepted_at > facts.as_of - YEAR})
    points = 0 if count <= 1 else 10 if count == 2 else 15
    return Factor("vendors", points, f"Buys on credit from {count} vendor(s)",
                  f"{_n(count, 'ne')} विक्रेताबाट उधारो किनमेल")


def _disputes(facts: Facts) -> Factor:
    return Factor("disputes", 0, "Disputes are not recorded yet: no points either way",
                  "विवाद अझै अभिलेख हुँदैन: अंक थपघट छैन")


def _acknowledged(facts: Facts) -> Factor:
    return Factor("acknowledged", 0,
                  "Acknowledgement by both parties is not recorded yet: no points either way",
                  "दुवै पक्षको स्वीकृति अझै अभिलेख हुँदैन: अंक थपघट छैन")


# The most each factor can give: what an improvement could still add.
MAX_POINTS = {"timeliness": 40, "days_past_due": 20, "overdue": 20, "utilisation": 20,
              "tenure": 30, "regularity": 20, "trend": 5, "reversals": 10, "vendors": 15,
              "disputes": 0, "acknowledged": 0}

# What a retailer can do about a factor; tenure and vendors they cannot (or should not) chase.
_ADVICE: dict[str, Callable[[Facts], tuple[str, str, str]]] = {
    "overdue": lambda f: (
        "overdue",
        f"Pay the {money(_overdue_paisa(f), 'en')} overdue",
        f"भाखा नाघेको {money(_overdue_paisa(f), 'ne')} तिर्नुहोस्"),
    "timeliness": lambda f: ("on_time", "Pay each bill by its due date",
                             "हरेक बिल भाखाभित्रै तिर्नुहोस्"),
    "days_past_due": lambda f: ("on_time", "Pay each bill by its due date",
                                "हरेक बिल भाखाभित्रै तिर्नुहोस्"),
    "utilisation": lambda f: ("utilisation", "Keep what you owe below 30% of your credit limit",
                              "बाँकी रकम उधारो सीमाको ३०% भन्दा कम राख्नुहोस्"),
    "regularity": lambda f: ("regular", "Buy through Khaacho every month",
                             "हरेक महिना खाचोमार्फत किनमेल गर्नुहोस्"),
    "trend": lambda f: ("regular", "Keep buying steadily through Khaacho",
                        "खाचोमार्फत नियमित किनमेल जारी राख्नुहोस्"),
    "reversals": lambda f: ("reversals", "Make payments that do not bounce (cash or digital)",
                            "बाउन्स नहुने भुक्तानी गर्नुहोस् (नगद वा डिजिटल)"),
}


def _overdue_paisa(facts: Facts) -> int:
    return sum(b.outstanding_paisa for b in facts.bills
               if b.due_at < facts.as_of and b.outstanding_paisa > 0)


def _improvements(facts: Facts, factors: Sequence[Factor]) -> tuple[Improvement, ...]:
    found: dict[str, Improvement] = {}
    for factor in factors:
        advice = _ADVICE.get(factor.key)
        gain = MAX_POINTS[factor.key] - factor.points
        if advice is None or gain <= 0:
            continue
        key, en, ne = advice(facts)
        before = found.get(key)
        found[key] = Improvement(key, gain + (before.gain if before else 0), en, ne)
    ranked = sorted(found.values(), key=lambda i: -i.gain)
    return tuple(ranked[:MAX_IMPROVEMENTS])


def _thin(facts: Facts) -> tuple[str, str] | None:
    """Why the record is too thin to score, or None."""
    if not facts.bills:
        return "No purchases on credit yet", "अहिलेसम्म उधारो किनमेल छैन"
    days = math.floor(_days(facts.bills[0].accepted_at, facts.as_of))
    if days < MIN_DAYS:
        return (f"Only {days} days of history; a score needs {MIN_DAYS}",
                f"{_n(days, 'ne')} दिनको मात्र इतिहास; स्कोरका लागि {_n(MIN_DAYS, 'ne')} दिन चाहिन्छ")
    if len(facts.bills) < MIN_BILLS:
        count = len(facts.bills)
        return (f"Only {count} billed orders; a score needs {MIN_BILLS}",
                f"{_n(count, 'ne')} बिल मात्र; स्कोरका लागि {_n(MIN_BILLS, 'ne')} बिल चाहिन्छ")
    return None


def compute(facts: Facts) -> Score:
    """The score of one retailer's facts (as of `facts.as_of`)."""
    thin = _thin(facts)
    if thin is not None:
        return Score(facts.as_of, None, None, thin[0], thin[1], (), ())
    due = [b for b in facts.bills if b.due_at <= facts.as_of]
    factors = (
        _timeliness(facts, due), _days_past_due(facts, due), _overdue(facts),
        _utilisation(facts), _tenure(facts), _regularity(facts), _trend(facts),
        _reversals(facts), _disputes(facts), _vendors(facts), _acknowledged(facts),
    )
    total = _clamp(BASE_SCORE + sum(f.points for f in factors), MIN_SCORE, MAX_SCORE)
    return Score(facts.as_of, total, band(total), None, None, factors,
                 _improvements(facts, factors))
