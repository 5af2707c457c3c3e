"""/app/analytics: charts a person reads at a glance, each with a heading, a one-line takeaway,
its numbers in a table (shown without JavaScript) and a CSV link; `/app/analytics/NAME.csv` the
same numbers for spreadsheets. Everything is read from `ledger.analytics` (its summary tables),
as the signed-in person: staff see the town, a vendor their own business, a shop its purchases;
through `web.reads` (the read replica when READ_DATABASE_URL is set: numbers refreshed every few
minutes may as well be a few seconds behind).

Charts are drawn by Chart.js (MIT; `web/static/vendor/chart.umd.js`, served from here: no CDN,
works offline) from the numbers embedded in the page as JSON (`<script type="application/json">`,
which runs nothing); `web/static/analytics.js` is the only script the page runs.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import asyncpg
from aiohttp import web

from bot.appkeys import MESSAGES
from ledger import analytics
from ledger.actors import is_staff
from ledger.analytics import Grain, Period
from ledger.errors import InvalidAnalyticsQuery, LedgerError, NotPermitted
from ledger.users import User
from locales import Language, formats
from web import render, retailer, staff, vendor
from web.auth import signed_in
from web.reads import reading

# The page runs one script of its own and the vendored Chart.js, both from this server.
POLICY = render.POLICY.replace("default-src 'none';", "default-src 'none'; script-src 'self';")

# Which series each role reads, in page order.
STAFF_SERIES = ("orders", "products", "areas", "retailers", "lapsed", "fulfilment",
                "rejections", "overdue", "scores")
VENDOR_SERIES = ("orders", "products", "retailers", "lapsed", "fulfilment", "rejections",
                 "overdue", "scores")
RETAILER_SERIES = ("purchases",)

_MONTHS_NE = ("जनवरी", "फेब्रुअरी", "मार्च", "अप्रिल", "मे", "जुन", "जुलाई", "अगस्ट",
              "सेप्टेम्बर", "अक्टोबर", "नोभेम्बर", "डिसेम्बर")
_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
              "Dec")


def series_for(user: User) -> tuple[str, ...]:
    if is_staff(user):
        return STAFF_SERIES
    if user.role == "VENDOR":
        return VENDOR_SERIES
    return RETAILER_SERIES


def today_in_nepal() -> date:
    return formats.nepal_time(datetime.now(UTC)).date()


# The numbers: one table per series, the same for the page, the CSV and the API -------------

@dataclass(frozen=True)
class Table:
    """A series as columns and rows of plain values (int, float, str, date or None); money in
    paisa (`*_paisa` columns)."""

    name: str
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]


@dataclass(frozen=True)
class Ask:
    """What a request asks for: the period, and for staff an optional vendor or area."""

    period: Period
    vendor_id: int | None = None
    area: str | None = None
    limit: int = 10


def _rows(items: Sequence[Any], columns: Sequence[str]) -> list[tuple[Any, ...]]:
    return [tuple(getattr(item, c) for c in columns) for item in items]


async def table(conn: asyncpg.Connection, user: User, name: str, ask: Ask,
                today: date) -> Table:
    """Series `name` as `user` may read it (raises NotPermitted, InvalidAnalyticsQuery)."""
    p, v = ask.period, ask.vendor_id
    cols: tuple[str, ...]
    items: Sequence[Any]
    if name == "orders":
        cols = ("start", "orders", "value_paisa", "accepted", "delivered", "rejected",
                "cancelled")
        items = await analytics.orders(conn, user, p, vendor_id=v, area=ask.area)
    elif name == "products":
        cols = ("sku", "name_en", "name_ne", "unit", "orders", "quantity_milli", "value_paisa")
        items = await analytics.products(conn, user, p, vendor_id=v, area=ask.area,
                                         limit=ask.limit)
    elif name == "areas":
        cols = ("area", "orders", "value_paisa", "top_sku")
        items = await analytics.areas(conn, user, p)
    elif name == "retailers":
        cols = ("start", "active", "orders", "value_paisa", "lines", "orders_per_retailer",
                "basket_paisa")
        items = await analytics.retailers(conn, user, p, vendor_id=v)
    elif name == "lapsed":
        cols = ("retailer_id", "shop_name", "phone", "area", "last_day", "orders",
                "value_paisa")
        items = (await analytics.lapsed(conn, user, vendor_id=v)).rows
    elif name == "fulfilment":
        cols = ("start", "offered", "accepted", "rejected", "expired", "acceptance",
                "accept_minutes", "dispatch_minutes", "deliver_minutes")
        items = await analytics.fulfilment(conn, user, p, vendor_id=v)
    elif name == "rejections":
        cols = ("reason", "offers")
        items = await analytics.rejections(conn, user, p, vendor_id=v, limit=ask.limit)
    elif name == "overdue":
        cols = ("bucket", "outstanding_paisa", "bills", "retailers")
        items = (await analytics.overdue(conn, user, vendor_id=v)).rows
    elif name == "scores":
        cols = ("low", "band", "retailers")
        items = (await analytics.score_distribution(conn, user, vendor_id=v)).rows
    elif name == "purchases":
        cols = ("start", "orders", "value_paisa")
        items = await analytics.purchases(conn, user, p)
    else:
        raise web.HTTPNotFound()
    rows = _rows(items, cols)
    if name in ("retailers", "fulfilment"):  # ratios: a few decimals are enough
        rows = [tuple(round(x, 3) if isinstance(x, float) else x for x in r) for r in rows]
    return Table(name, cols, rows)


def read_ask(query: Any, user: User, today: date) -> Ask:
    """The period and filters from a query string (`from`, `to`, `grain`; staff also `vendor`,
    `area`); InvalidAnalyticsQuery when they cannot be used."""
    chosen = analytics.parse_period(query.get("from") or None, query.get("to") or None,
                                    query.get("grain") or None, today=today)
    vendor_id = None
    if query.get("vendor"):
        try:
            vendor_id = int(query["vendor"])
        except ValueError:
            raise InvalidAnalyticsQuery(field="vendor", problem="unknown",
                                        value=str(query["vendor"])[:20]) from None
    area = query.get("area") or None
    return Ask(chosen, vendor_id if is_staff(user) else None, area[:120] if area else None)


# CSV --------------------------------------------------------------------------------------------

def _csv_value(column: str, value: Any) -> str:
    if value is None:
        return ""
    if column.endswith("_paisa"):
        rupees, paisa = divmod(int(value), 100)
        return f"{rupees}.{paisa:02d}" if paisa else str(rupees)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def to_csv(found: Table) -> str:
    """A header row, then one row per point; money in plain rupees (`value_npr`), ASCII digits,
    dates YYYY-MM-DD (AD): ready for a spreadsheet."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([c.replace("_paisa", "_npr") for c in found.columns])
    for row in found.rows:
        writer.writerow([_csv_value(c, v) for c, v in zip(found.columns, row, strict=True)])
    return out.getvalue()


# The page ---------------------------------------------------------------------------------------

WORDS: dict[Language, dict[str, Any]] = {
    "en": {
        "title": "Analytics",
        "heading_staff": "The town at a glance",
        "heading_vendor": "Your business at a glance",
        "heading_retailer": "Your purchases",
        "from": "From", "to": "To", "grain": "Step", "show": "Show",
        "grains": {"day": "Day", "week": "Week", "month": "Month"},
        "quick": "Quick:", "last_30": "30 days", "last_26w": "26 weeks", "last_12m": "12 months",
        "fresh": "Numbers as of {at} (refreshed every few minutes).",
        "never": "The numbers have not been worked out yet; they appear after the next refresh.",
        "numbers": "The numbers", "csv": "CSV",
        "bad": "That period cannot be shown",
        "no_data": "Nothing in this period yet.",
        "orders_h": "Orders placed and their value",
        "orders_t": "Orders: {orders}, worth {value}; the busiest {point} was {best} ({count}).",
        "purchases_h": "Your orders and what they came to",
        "purchases_t": "Your orders in this period: {orders}, worth {value}.",
        "products_h": "Products that sold most (by value)",
        "products_t": "{name} sold most: {value}, {share} of these sales.",
        "areas_h": "Orders by area",
        "areas_t": "Most business comes from {area}: {value} from {orders} orders.",
        "retailers_h": "Shops ordering, and how much",
        "retailers_t": "On average {active} shops ordered per {point}, {per} orders each, "
                       "a basket of {basket}.",
        "lapsed_h": "Shops that stopped ordering",
        "lapsed_t": "Regular shops gone quiet: {count}. Each ordered at least {min} times in "
                    "the {window} days before the last {quiet}, and not since: worth a call.",
        "lapsed_none": "No regular shop has stopped ordering.",
        "fulfilment_h": "Offers accepted, and how fast orders move",
        "fulfilment_t": "{rate} of offers were accepted; an order took on average {accept} to "
                        "be accepted, {dispatch} more to leave and {deliver} more to arrive.",
        "rejections_h": "Why orders were turned down",
        "rejections_t": "The commonest reason: \"{reason}\" ({count} times).",
        "overdue_h": "What is owed, by days past due",
        "overdue_t": "Overdue: {overdue} (more than 60 days: {old}); not yet due: {not_due}.",
        "scores_h": "Shops by credit score",
        "scores_t": "{scored} of {total} shops have a score; the most are in band {band}.",
        "scores_none": "No shop has a score yet ({total} shops: too little history so far).",
        "scores_empty": "No scores yet.",
        "no_reason": "(no reason given)",
        "unscored": "No score yet",
        "no_area": "(no area)",
        "buckets": {"not_due": "Not due", "1-30": "1–30 days", "31-60": "31–60 days",
                    "61-90": "61–90 days", "90+": "Over 90 days"},
        "points": {"day": "day", "week": "week", "month": "month"},
        "min": "min", "hours": "h", "days": "d", "na": "—",
        "col": {"start": "From", "orders": "Orders", "value_paisa": "Value",
                "accepted": "Accepted", "delivered": "Delivered", "rejected": "Rejected",
                "cancelled": "Cancelled", "sku": "Product", "quantity_milli": "Quantity",
                "area": "Area", "top_sku": "Best seller", "active": "Shops", "lines": "Lines",
                "orders_per_retailer": "Orders per shop", "basket_paisa": "Basket",
                "shop_name": "Shop", "phone": "Phone", "last_day": "Last order",
                "offered": "Offers", "expired": "Expired", "acceptance": "Accepted %",
                "accept_minutes": "To accept", "dispatch_minutes": "To dispatch",
                "deliver_minutes": "To deliver", "reason": "Reason", "offers": "Times",
                "bucket": "Age", "outstanding_paisa": "Owed", "bills": "Bills",
                "retailers": "Shops", "low": "Score", "band": "Band"},
        "legend": {"orders": "Orders", "value": "Value (Rs)", "active": "Shops ordering",
                   "acceptance": "Accepted %", "owed": "Owed (Rs)", "shops": "Shops",
                   "times": "Times"},
    },
    "ne": {
        "title": "विश्लेषण",
        "heading_staff": "सहर एक नजरमा",
        "heading_vendor": "तपाईंको कारोबार एक नजरमा",
        "heading_retailer": "तपाईंको खरिद",
        "from": "देखि", "to": "सम्म", "grain": "अन्तराल", "show": "हेर्नुहोस्",
        "grains": {"day": "दिन", "week": "हप्ता", "month": "महिना"},
        "quick": "छिटो:", "last_30": "३० दिन", "last_26w": "२६ हप्ता", "last_12m": "१२ महिना",
        "fresh": "{at} सम्मका अङ्क (केही मिनेटमा ताजा हुन्छन्)।",
        "never": "अङ्क अझै निकालिएका छैनन्; अर्को पटक ताजा हुँदा देखिन्छन्।",
        "numbers": "अङ्कहरू", "csv": "CSV",
        "bad": "यो अवधि देखाउन मिलेन",
        "no_data": "यो अवधिमा अझै केही छैन।",
        "orders_h": "राखिएका अर्डर र तिनको मूल्य",
        "orders_t": "अर्डर: {orders}, {value} बराबर; सबैभन्दा व्यस्त {point} {best} ({count})।",
        "purchases_h": "तपाईंका अर्डर र तिनको रकम",
        "purchases_t": "यो अवधिमा तपाईंका अर्डर: {orders}, {value} बराबर।",
        "products_h": "सबैभन्दा धेरै बिकेका सामान (मूल्यअनुसार)",
        "products_t": "{name} सबैभन्दा धेरै बिक्यो: {value}, यी बिक्रीको {share}।",
        "areas_h": "क्षेत्रअनुसार अर्डर",
        "areas_t": "सबैभन्दा धेरै कारोबार {area} बाट: {orders} अर्डरबाट {value}।",
        "retailers_h": "अर्डर गर्ने पसल र कति",
        "retailers_t": "औसतमा प्रति {point} {active} पसलले अर्डर गरे, प्रत्येकले {per} अर्डर, "
                       "एक पटकमा {basket}।",
        "lapsed_h": "अर्डर गर्न छाडेका पसल",
        "lapsed_t": "चुप लागेका नियमित पसल: {count}। प्रत्येकले पछिल्ला {quiet} दिनअघिका "
                    "{window} दिनमा कम्तीमा {min} पटक अर्डर गरे, त्यसपछि गरेनन्: फोन गर्न लायक।",
        "lapsed_none": "नियमित कुनै पसलले अर्डर छाडेको छैन।",
        "fulfilment_h": "स्वीकार भएका प्रस्ताव, र अर्डर कति छिटो सर्छन्",
        "fulfilment_t": "{rate} प्रस्ताव स्वीकार भए; अर्डर स्वीकार हुन औसत {accept}, निस्कन थप "
                        "{dispatch} र पुग्न थप {deliver} लाग्यो।",
        "rejections_h": "अर्डर किन अस्वीकार भए",
        "rejections_t": "सबैभन्दा धेरै कारण: \"{reason}\" ({count} पटक)।",
        "overdue_h": "बाँकी रकम, भाखा नाघेका दिनअनुसार",
        "overdue_t": "भाखा नाघेको: {overdue} (६० दिनभन्दा पुरानो: {old}); भाखा बाँकी: "
                     "{not_due}।",
        "scores_h": "क्रेडिट स्कोरअनुसार पसल",
        "scores_t": "{total} मध्ये {scored} पसलको स्कोर छ; धेरैजसो {band} समूहमा छन्।",
        "scores_none": "अहिलेसम्म कुनै पसलको स्कोर छैन ({total} पसल: इतिहास अझै थोरै)।",
        "scores_empty": "अहिलेसम्म स्कोर छैन।",
        "no_reason": "(कारण दिइएन)",
        "unscored": "स्कोर अझै छैन",
        "no_area": "(क्षेत्र छैन)",
        "buckets": {"not_due": "भाखा बाँकी", "1-30": "१–३० दिन", "31-60": "३१–६० दिन",
                    "61-90": "६१–९० दिन", "90+": "९० दिनभन्दा बढी"},
        "points": {"day": "दिन", "week": "हप्ता", "month": "महिना"},
        "min": "मिनेट", "hours": "घण्टा", "days": "दिन", "na": "—",
        "col": {"start": "देखि", "orders": "अर्डर", "value_paisa": "मूल्य",
                "accepted": "स्वीकृत", "delivered": "पुगेको", "rejected": "अस्वीकृत",
                "cancelled": "रद्द", "sku": "सामान", "quantity_milli": "परिमाण",
                "area": "क्षेत्र", "top_sku": "धेरै बिकेको", "active": "पसल", "lines": "सामान",
                "orders_per_retailer": "प्रति पसल अर्डर", "basket_paisa": "एक पटकको",
                "shop_name": "पसल", "phone": "फोन", "last_day": "अन्तिम अर्डर",
                "offered": "प्रस्ताव", "expired": "म्याद नाघेको", "acceptance": "स्वीकृत %",
                "accept_minutes": "स्वीकार गर्न", "dispatch_minutes": "पठाउन",
                "deliver_minutes": "पुर्‍याउन", "reason": "कारण", "offers": "पटक",
                "bucket": "उमेर", "outstanding_paisa": "बाँकी", "bills": "बिल",
                "retailers": "पसल", "low": "स्कोर", "band": "समूह"},
        "legend": {"orders": "अर्डर", "value": "मूल्य (रु)", "active": "अर्डर गर्ने पसल",
                   "acceptance": "स्वीकृत %", "owed": "बाँकी (रु)", "shops": "पसल",
                   "times": "पटक"},
    },
}


def point_label(start: date, grain: Grain, lang: Language) -> str:
    """A chart's axis label: "10 Nov" / "Nov 2026"; Nepali readers get the Bikram Sambat day
    (its month and day) and the AD month in Nepali."""
    if grain == "month":
        if lang == "ne":
            return formats.digits(f"{_MONTHS_NE[start.month - 1]} {start.year}", lang)
        return f"{_MONTHS_EN[start.month - 1]} {start.year}"
    if lang == "ne":
        bs = formats.bs_date(start, lang).split(" ", 1)[1]   # "मंसिर २४"
        return bs
    return f"{start.day} {_MONTHS_EN[start.month - 1]}"


def _duration(minutes: float | None, w: dict[str, Any], lang: Language) -> str:
    if minutes is None:
        return str(w["na"])
    if minutes < 120:
        return formats.digits(f"{round(minutes)} {w['min']}", lang)
    if minutes < 48 * 60:
        return formats.digits(f"{minutes / 60:.1f} {w['hours']}", lang)
    return formats.digits(f"{minutes / 1440:.1f} {w['days']}", lang)


@dataclass
class Chart:
    name: str
    heading: str
    takeaway: str
    kind: str                     # bar, line, hbar
    labels: list[str]
    datasets: list[dict[str, Any]]
    head: list[str]               # the table's header
    body: list[list[str]]         # the table's rows, formatted for the reader
    csv: str                      # the CSV's address
    empty: bool = False

    def spec(self) -> str:
        """The chart as JSON for analytics.js (embedded in the page; `</` escaped)."""
        return json.dumps({"kind": self.kind, "labels": self.labels, "datasets": self.datasets},
                          ensure_ascii=False).replace("</", "<\\/")


def _cell(column: str, value: Any, lang: Language, w: dict[str, Any], grain: Grain) -> str:
    if value is None:
        return str(w["na"])
    if column.endswith("_paisa"):
        return formats.money(int(value), lang)
    if column in ("start",):
        return formats.day(value, lang) if grain == "day" else point_label(value, grain, lang)
    if column == "last_day":
        return formats.day(value, lang)
    if column == "acceptance":
        return formats.percent(float(value), lang)
    if column.endswith("_minutes"):
        return _duration(float(value), w, lang)
    if column == "quantity_milli":
        return formats.number(round(int(value) / 1000, 3), lang)
    if column == "bucket":
        return str(w["buckets"][value])
    if column == "reason":
        return str(value) or str(w["no_reason"])
    if column == "area":
        return str(value) or str(w["no_area"])
    if column == "low":
        return formats.digits(f"{value}–{int(value) + 49}", lang)
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        return formats.number(value, lang)
    return str(value)


def _table_cells(found: Table, lang: Language, w: dict[str, Any], grain: Grain,
                 skip: Sequence[str] = ()) -> tuple[list[str], list[list[str]]]:
    keep = [i for i, c in enumerate(found.columns) if c not in skip]
    head = [str(w["col"].get(found.columns[i], found.columns[i])) for i in keep]
    body = [[_cell(found.columns[i], row[i], lang, w, grain) for i in keep] for row in found.rows]
    return head, body


def _col(found: Table, name: str) -> list[Any]:
    i = found.columns.index(name)
    return [row[i] for row in found.rows]


def _rupees(values: Sequence[Any]) -> list[float]:
    return [int(v) / 100 for v in values]


def _chart(found: Table, lang: Language, w: dict[str, Any], grain: Grain) -> tuple[
        str, str, list[str], list[dict[str, Any]], bool]:
    """(kind, takeaway, labels, datasets, empty) for a table."""
    def money(paisa: int, lang: Language) -> str:
        # At a glance: whole rupees (the table and the CSV keep the paisa).
        return formats.money((int(paisa) + 50) // 100 * 100, lang)

    L = w["legend"]
    name = found.name
    if name in ("orders", "purchases"):
        starts, counts, values = _col(found, "start"), _col(found, "orders"), _col(
            found, "value_paisa")
        total, value = sum(counts), sum(values)
        labels = [point_label(s, grain, lang) for s in starts]
        if name == "purchases":
            text = w["purchases_t"].format(orders=formats.number(total, lang),
                                           value=money(value, lang))
        else:
            best = max(range(len(counts)), key=lambda i: (counts[i], -i)) if counts else 0
            text = w["orders_t"].format(
                orders=formats.number(total, lang), value=money(value, lang),
                point=w["points"][grain], best=labels[best] if labels else "",
                count=formats.number(counts[best] if counts else 0, lang))
        return "bar", text, labels, [
            {"label": L["orders"], "data": counts, "axis": "count"},
            {"label": L["value"], "data": _rupees(values), "axis": "money", "type": "line"},
        ], total == 0
    if name == "products":
        names = _col(found, "name_ne" if lang == "ne" else "name_en")
        values = _col(found, "value_paisa")
        total = sum(values)
        text = "" if not values else w["products_t"].format(
            name=names[0], value=money(values[0], lang),
            share=formats.percent(values[0] / total if total else 0, lang))
        return "hbar", text, names, [{"label": L["value"], "data": _rupees(values),
                                      "axis": "money"}], not values
    if name == "areas":
        areas = [a or w["no_area"] for a in _col(found, "area")]
        values = _col(found, "value_paisa")
        text = "" if not values else w["areas_t"].format(
            area=areas[0], value=money(values[0], lang),
            orders=formats.number(_col(found, "orders")[0], lang))
        return "hbar", text, areas, [{"label": L["value"], "data": _rupees(values),
                                      "axis": "money"}], not values
    if name == "retailers":
        starts, active = _col(found, "start"), _col(found, "active")
        orders, values = sum(_col(found, "orders")), sum(_col(found, "value_paisa"))
        points_with = [a for a in active if a] or [0]
        per = orders / sum(active) if sum(active) else 0.0
        text = w["retailers_t"].format(
            active=formats.number(round(sum(points_with) / len(points_with)), lang),
            point=w["points"][grain], per=formats.number(round(per, 1), lang),
            basket=money(values // orders if orders else 0, lang))
        return "bar", text, [point_label(s, grain, lang) for s in starts], [
            {"label": L["active"], "data": active, "axis": "count"}], orders == 0
    if name == "lapsed":
        text = (w["lapsed_t"].format(count=formats.number(len(found.rows), lang),
                                     min=formats.number(analytics.LAPSED_MIN_ORDERS, lang),
                                     window=formats.number(analytics.LAPSED_WINDOW_DAYS, lang),
                                     quiet=formats.number(analytics.LAPSED_QUIET_DAYS, lang))
                if found.rows else w["lapsed_none"])
        return "none", text, [], [], not found.rows
    if name == "fulfilment":
        starts = _col(found, "start")
        offered, accepted = sum(_col(found, "offered")), sum(_col(found, "accepted"))

        def mean(column: str) -> float | None:
            # Weighted by the points' own counts is not kept per point; a plain mean of the
            # points that have one is what the chart shows.
            got = [v for v in _col(found, column) if v is not None]
            return sum(got) / len(got) if got else None

        text = w["fulfilment_t"].format(
            rate=formats.percent(accepted / offered if offered else 0, lang),
            accept=_duration(mean("accept_minutes"), w, lang),
            dispatch=_duration(mean("dispatch_minutes"), w, lang),
            deliver=_duration(mean("deliver_minutes"), w, lang))
        rates = [None if a is None else round(a * 100, 1) for a in _col(found, "acceptance")]
        return "line", text, [point_label(s, grain, lang) for s in starts], [
            {"label": L["acceptance"], "data": rates, "axis": "percent"}], offered == 0
    if name == "rejections":
        reasons = [r or w["no_reason"] for r in _col(found, "reason")]
        counts = _col(found, "offers")
        text = "" if not counts else w["rejections_t"].format(
            reason=reasons[0], count=formats.number(counts[0], lang))
        return "hbar", text, reasons, [{"label": L["times"], "data": counts,
                                        "axis": "count"}], not counts
    if name == "overdue":
        buckets, owed = _col(found, "bucket"), _col(found, "outstanding_paisa")
        by = dict(zip(buckets, owed, strict=True))
        overdue = sum(v for b, v in by.items() if b != "not_due")
        text = w["overdue_t"].format(overdue=money(overdue, lang),
                                     old=money(by["61-90"] + by["90+"], lang),
                                     not_due=money(by["not_due"], lang))
        return "bar", text, [w["buckets"][b] for b in buckets], [
            {"label": L["owed"], "data": _rupees(owed), "axis": "money"}], sum(owed) == 0
    if name == "scores":
        lows, bands, counts = _col(found, "low"), _col(found, "band"), _col(found, "retailers")
        total = sum(counts)
        scored = total - (counts[0] if lows and lows[0] is None else 0)
        per_band: dict[str, int] = {}
        for b, n in zip(bands, counts, strict=True):
            if b:
                per_band[b] = per_band.get(b, 0) + n
        # Without a score there is no band to name: say so plainly (no "band —").
        text = (w["scores_t"].format(scored=formats.number(scored, lang),
                                     total=formats.number(total, lang),
                                     band=max(per_band, key=lambda b: (per_band[b], b)))
                if scored and per_band else
                w["scores_none"].format(total=formats.number(total, lang)) if total
                else w["scores_empty"])
        labels = [w["unscored"] if lo is None else formats.digits(f"{lo}+ {b}", lang)
                  for lo, b in zip(lows, bands, strict=True)]
        return "bar", text, labels, [{"label": L["shops"], "data": counts,
                                      "axis": "count"}], total == 0
    raise KeyError(name)


def _csv_href(name: str, ask: Ask) -> str:
    p = ask.period
    return (f"/app/analytics/{name}.csv?from={p.start.isoformat()}&to={p.end.isoformat()}"
            f"&grain={p.grain}")


async def _charts(conn: asyncpg.Connection, user: User, ask: Ask, lang: Language,
                  today: date) -> list[Chart]:
    w = WORDS[lang]
    charts = []
    for name in series_for(user):
        found = await table(conn, user, name, ask, today)
        kind, text, labels, datasets, empty = _chart(found, lang, w, ask.period.grain)
        skip = {"products": ("sku", "name_en" if lang == "ne" else "name_ne", "unit"),
                "lapsed": ("retailer_id",), "retailers": ("lines",)}.get(name, ())
        head, body = _table_cells(found, lang, w, ask.period.grain, skip)
        charts.append(Chart(name, w[f"{name}_h"], text, kind, labels, datasets, head, body,
                            _csv_href(name, ask), empty))
    return charts


def _heading(user: User) -> str:
    return ("heading_staff" if is_staff(user) else "heading_vendor" if user.role == "VENDOR"
            else "heading_retailer")


@signed_in()
async def page(request: web.Request, user: User) -> web.StreamResponse:
    """Every chart the person may read, for the period asked (default: the last 30 days)."""
    today = today_in_nepal()
    lang = render.page_language(request, user.language)
    problem = None
    try:
        ask = read_ask(request.query, user, today)
    except LedgerError as exc:
        problem = request.app[MESSAGES].render(lang, "error", key=exc.key,
                                                      params=exc.params)
        ask = Ask(analytics.default_period(today))
    async with reading(request.app) as conn:
        fresh = await analytics.status(conn)
        try:
            charts = await _charts(conn, user, ask, lang, today)
        except NotPermitted:
            raise web.HTTPForbidden(
                text=render.render(request, "forbidden.html", status=403).text,
                content_type="text/html",
                headers={"Content-Security-Policy": render.POLICY}) from None
    w = WORDS[lang]
    fresh_text = (w["fresh"].format(at=f"{formats.day(fresh.refreshed_at, lang)} "
                                       f"{formats.clock(fresh.refreshed_at, lang)}")
                  if fresh.refreshed_at else w["never"])
    quick = [(w["last_30"], "day"), (w["last_26w"], "week"), (w["last_12m"], "month")]
    return render.render(
        request, "analytics.html", WORDS, status=422 if problem else 200, policy=POLICY,
        user_language=user.language, heading=w[_heading(user)], charts=charts, ask=ask,
        problem=" ".join(problem.split()) if problem else None, fresh=fresh_text, quick=quick,
        grains=analytics.GRAINS, today=today.isoformat(), staff_nav=is_staff(user), user=user,
        nav=_nav_words(user, lang))


def _nav_words(user: User, lang: Language) -> dict[str, Any]:
    """The tabs' words of the person's other pages, so this page carries the same tabs."""
    words = (staff.WORDS if is_staff(user) else vendor.WORDS if user.role == "VENDOR"
             else retailer.WORDS)
    return words[lang]


@signed_in()
async def csv_file(request: web.Request, user: User) -> web.StreamResponse:
    """One series as CSV, for the period asked (a polite 422 text when it cannot be)."""
    name = request.match_info["name"]
    if name not in analytics.SERIES:
        raise web.HTTPNotFound()
    today = today_in_nepal()
    lang = render.page_language(request, user.language)
    try:
        ask = read_ask(request.query, user, today)
        async with reading(request.app) as conn:
            found = await table(conn, user, name, ask, today)
    except NotPermitted:
        raise web.HTTPForbidden(text="This series is not open to your role.\n") from None
    except LedgerError as exc:
        message = request.app[MESSAGES].render(lang, "error", key=exc.key,
                                                      params=exc.params)
        return web.Response(status=422, text=" ".join(message.split()) + "\n",
                            content_type="text/plain", charset="utf-8")
    p = ask.period
    filename = f"khaacho-{name}-{p.start.isoformat()}-{p.end.isoformat()}-{p.grain}.csv"
    return web.Response(
        text=to_csv(found), content_type="text/csv", charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"',
                 "Cache-Control": "no-store"})


def routes(app: web.Application) -> None:
    app.router.add_get("/app/analytics", page)
    app.router.add_get("/app/analytics/{name}.csv", csv_file)
