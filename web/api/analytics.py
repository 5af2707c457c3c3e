"""GET /api/v1/analytics/<series>: the numbers of the analytics page and its CSV files, as JSON.

Each series is one endpoint with its own row model, filled from the same table the page and the
CSV are (`web.analytics.table`), so all three always agree; like the page, from the read replica
when READ_DATABASE_URL is set (`reads_replica`). Rights are the services': staff read
the town (or `vendor_id`), a vendor their own, a shop only `purchases`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ledger import analytics
from ledger.analytics import Period
from ledger.users import Role
from web import analytics as pages
from web.api.registry import API, Call, Handler


class SeriesQuery(BaseModel):
    """The period (Nepal days, both included) and, for staff, whose numbers."""

    model_config = ConfigDict(populate_by_name=True)

    start: date | None = Field(default=None, alias="from",
                               description="first day, YYYY-MM-DD (default: by grain, 30 days, "
                                           "26 weeks or 12 months before `to`)")
    end: date | None = Field(default=None, alias="to", description="last day (default: today)")
    grain: Literal["day", "week", "month"] = Field(
        default="day", description="one point per day, week (Sunday to Saturday) or month; at "
                                   "most 92 days, 53 weeks or 24 months")
    vendor_id: int | None = Field(default=None, ge=1,
                                  description="staff: one vendor's numbers instead of the town's")
    area: str | None = Field(default=None, max_length=120,
                             description="staff: orders and products of one area's shops")
    limit: int = Field(default=10, ge=1, le=analytics.MAX_LIMIT,
                       description="rows of a ranking (products, rejections)")


class PeriodOut(BaseModel):
    """The period answered: its start moved back to the first point's first day."""

    model_config = ConfigDict(serialize_by_alias=True)

    start: date = Field(serialization_alias="from")
    end: date = Field(serialization_alias="to")
    grain: Literal["day", "week", "month"]


class Envelope(BaseModel):
    period: PeriodOut
    refreshed_at: datetime | None = Field(description="when the numbers were last worked out")


class OrderRow(BaseModel):
    start: date = Field(description="the point's first day")
    orders: int = Field(description="orders placed (confirmed)")
    value_paisa: int
    accepted: int
    delivered: int
    rejected: int = Field(description="no vendor would take it")
    cancelled: int


class OrdersOut(Envelope):
    rows: list[OrderRow]


class PurchaseRow(BaseModel):
    start: date
    orders: int
    value_paisa: int


class PurchaseOut(Envelope):
    rows: list[PurchaseRow]


class ProductRow(BaseModel):
    sku: str
    name_en: str
    name_ne: str
    unit: str
    orders: int = Field(description="billed orders with the product")
    quantity_milli: int = Field(description="in thousandths of the unit")
    value_paisa: int


class ProductsOut(Envelope):
    rows: list[ProductRow]


class AreaRow(BaseModel):
    area: str = Field(description="the shops' area as registered ('' when none was given)")
    orders: int
    value_paisa: int
    top_sku: str | None


class AreasOut(Envelope):
    rows: list[AreaRow]


class RetailerRow(BaseModel):
    start: date
    active: int = Field(description="shops that placed an order")
    orders: int
    value_paisa: int
    lines: int
    orders_per_retailer: float
    basket_paisa: int = Field(description="average order value")


class RetailersOut(Envelope):
    rows: list[RetailerRow]


class LapsedRow(BaseModel):
    retailer_id: int
    shop_name: str
    phone: str | None
    area: str
    last_day: date
    orders: int
    value_paisa: int


class LapsedOut(Envelope):
    rows: list[LapsedRow]


class FulfilmentRow(BaseModel):
    start: date
    offered: int
    accepted: int
    rejected: int
    expired: int
    acceptance: float | None = Field(description="accepted / offered (null: no offers)")
    accept_minutes: float | None = Field(description="placed to accepted, on average")
    dispatch_minutes: float | None
    deliver_minutes: float | None


class FulfilmentOut(Envelope):
    rows: list[FulfilmentRow]


class RejectionRow(BaseModel):
    reason: str = Field(description="as typed, lower-cased ('' when none was given)")
    offers: int


class RejectionsOut(Envelope):
    rows: list[RejectionRow]


class OverdueRow(BaseModel):
    bucket: Literal["not_due", "1-30", "31-60", "61-90", "90+"] = Field(
        description="days past the due date")
    outstanding_paisa: int
    bills: int
    retailers: int


class OverdueOut(Envelope):
    rows: list[OverdueRow]


class ScoreRow(BaseModel):
    low: int | None = Field(description="scores low to low+49; null: no score yet")
    band: str | None
    retailers: int


class ScoresOut(Envelope):
    rows: list[ScoreRow]


async def _rows(call: Call, name: str, row: type[BaseModel]) -> dict[str, Any]:
    query: SeriesQuery = call.query
    user = call.actor
    today = pages.today_in_nepal()
    start, end = query.start, query.end
    chosen = analytics.parse_period(start.isoformat() if start else None,
                                    end.isoformat() if end else None, query.grain, today=today)
    ask = pages.Ask(chosen, query.vendor_id, query.area, query.limit)
    found = await pages.table(call.conn, user, name, ask, today)
    status = await analytics.status(call.conn)
    return {"period": _period(chosen), "refreshed_at": status.refreshed_at,
            "rows": [row.model_validate(dict(zip(found.columns, r, strict=True)))
                     for r in found.rows]}


def _period(chosen: Period) -> PeriodOut:
    return PeriodOut(start=chosen.start, end=chosen.end, grain=chosen.grain)


STAFF_AND_VENDORS: tuple[Role, ...] = ("ADMIN", "OPERATOR", "VENDOR")


def _series(name: str, summary: str, response: type[BaseModel],
            roles: tuple[Role, ...] = STAFF_AND_VENDORS) -> Callable[[Handler], Handler]:
    return API.endpoint("GET", f"/analytics/{name}", summary=summary, response=response,
                        roles=roles, query=SeriesQuery, tag="analytics", errors=(403, 422),
                        reads_replica=True)


@_series("orders", "Orders placed and their value, per point", OrdersOut)
async def analytics_orders(call: Call) -> OrdersOut:
    """Per day, week or month: orders placed, their value, and how many were accepted,
    delivered, rejected by every vendor or cancelled. Staff: the town, `vendor_id` or `area`;
    a vendor: their own."""
    return OrdersOut.model_validate(await _rows(call, "orders", OrderRow))


@_series("purchases", "Orders a shop placed itself, per point", PurchaseOut, ("RETAILER",))
async def analytics_purchases(call: Call) -> PurchaseOut:
    """The signed-in shop's orders and what they came to."""
    return PurchaseOut.model_validate(await _rows(call, "purchases", PurchaseRow))


@_series("products", "Products that sold most, by value", ProductsOut)
async def analytics_products(call: Call) -> ProductsOut:
    """Billed orders' lines over the period, best first (`limit` rows); staff may name an
    `area`."""
    return ProductsOut.model_validate(await _rows(call, "products", ProductRow))


@_series("areas", "Orders and value per area", AreasOut, ("ADMIN", "OPERATOR"))
async def analytics_areas(call: Call) -> AreasOut:
    """The town's orders per area of the shops, biggest first, with each area's best seller."""
    return AreasOut.model_validate(await _rows(call, "areas", AreaRow))


@_series("retailers", "Shops ordering: how many, how often, how much", RetailersOut)
async def analytics_retailers(call: Call) -> RetailersOut:
    """Per point: shops that ordered, their orders, value and lines, orders per shop and the
    average basket."""
    return RetailersOut.model_validate(await _rows(call, "retailers", RetailerRow))


@_series("lapsed", "Shops that stopped ordering", LapsedOut)
async def analytics_lapsed(call: Call) -> LapsedOut:
    """Shops with at least 3 orders in the 60 days before the last 14, and none since (as of
    today; the period is not used); those who bought most first."""
    return LapsedOut.model_validate(await _rows(call, "lapsed", LapsedRow))


@_series("fulfilment", "Offers accepted, and time to accept, dispatch and deliver",
         FulfilmentOut)
async def analytics_fulfilment(call: Call) -> FulfilmentOut:
    """Per point: offers made to vendors and how they ended, and the average minutes from
    placed to accepted, accepted to dispatched, dispatched to delivered."""
    return FulfilmentOut.model_validate(await _rows(call, "fulfilment", FulfilmentRow))


@_series("rejections", "Why vendors turned orders down", RejectionsOut)
async def analytics_rejections(call: Call) -> RejectionsOut:
    """Reasons given for rejected offers over the period, the commonest first."""
    return RejectionsOut.model_validate(await _rows(call, "rejections", RejectionRow))


@_series("overdue", "What is owed, by days past due", OverdueOut)
async def analytics_overdue(call: Call) -> OverdueOut:
    """Outstanding bills by days past their due date, as of the latest refresh (the period is
    not used)."""
    return OverdueOut.model_validate(await _rows(call, "overdue", OverdueRow))


@_series("scores", "Shops by credit score", ScoresOut)
async def analytics_scores(call: Call) -> ScoresOut:
    """Shops per 50 points of credit score (and those without one yet), as of the latest
    refresh: the town's, or a vendor's own shops'."""
    return ScoresOut.model_validate(await _rows(call, "scores", ScoreRow))
