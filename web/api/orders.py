"""API endpoints for orders: the list (filters, cursor pages), one order, and the vendor's and
retailer's actions on it. Each action is the chat step itself (`dialogs.steps`), notifications
included; an order the caller may not see is 404, worded like one that does not exist."""

from __future__ import annotations

import base64
import binascii
from datetime import date, datetime
from typing import Annotated, Any, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from dialogs import steps
from ledger import catalog_store, order_list, orders, users
from ledger.lifecycle import Status
from ledger.order_repo import Order
from ledger.reports import OrderSummary
from ledger.users import Role
from web.api.errors import ApiError
from web.api.registry import ALL_ROLES, API, Call

STATUSES: tuple[str, ...] = get_args(Status)
LISTED_STATUSES = tuple(s for s in STATUSES if s != "DRAFT")
_CURSOR_PREFIX = "o1:"


def _number(raw: str) -> str:
    value = raw.strip().upper()
    if not value.startswith("KH-") or not value[3:].isdigit() or not 1 <= len(value[3:]) <= 12:
        raise ValueError("an order number looks like KH-000123")
    return value


Number = Annotated[str, Field(min_length=4, max_length=16, examples=["KH-000123"]),
                   AfterValidator(_number)]


class OrderPath(BaseModel):
    number: Number


def encode_cursor(before_id: int) -> str:
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{before_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The order id a cursor stands for; 400 for anything this API did not hand out."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ApiError(400, "bad_cursor") from None
    if not raw.startswith(_CURSOR_PREFIX) or not raw[3:].isdigit() or len(raw) > 20:
        raise ApiError(400, "bad_cursor")
    return int(raw[3:])


class OrdersQuery(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    status: str | None = Field(default=None, max_length=200, description=(
        "one or more statuses, comma-separated: " + ", ".join(LISTED_STATUSES)))
    from_: date | None = Field(default=None, alias="from",
                               description="first Nepal day (YYYY-MM-DD) the order was placed")
    to: date | None = Field(default=None, description="last Nepal day, inclusive")
    vendor_id: int | None = Field(default=None, ge=1, le=2**62)
    retailer_id: int | None = Field(default=None, ge=1, le=2**62)
    cursor: str | None = Field(default=None, max_length=64,
                               description="`next_cursor` of the page before")
    limit: int = Field(default=50, ge=1, le=order_list.MAX_LIMIT)

    @field_validator("status")
    @classmethod
    def _statuses(cls, value: str | None) -> str | None:
        if value is None:
            return None
        wanted = [s.strip().upper() for s in value.split(",") if s.strip()]
        unknown = [s for s in wanted if s not in LISTED_STATUSES]
        if unknown or not wanted:
            raise ValueError(f"unknown status {', '.join(unknown) or value!r}")
        return ",".join(wanted)

    def statuses(self) -> list[str]:
        return self.status.split(",") if self.status else []


class OrderLineOut(BaseModel):
    sku: str
    name_en: str
    name_ne: str
    unit: str = Field(description="the product's base unit (quantities are milli of it)")
    quantity_milli: int
    unit_text: str = Field(description="the unit as the retailer said it")
    unit_price_paisa: int
    line_total_paisa: int


class OrderOut(BaseModel):
    number: str
    status: Status
    retailer_id: int
    shop_name: str
    vendor_id: int | None
    vendor_name: str | None
    total_paisa: int
    paid_paisa: int
    outstanding_paisa: int
    payment_status: str
    created_at: datetime
    confirmed_at: datetime | None
    accepted_at: datetime | None
    due_at: datetime | None
    lines: list[OrderLineOut]


class OrderBrief(BaseModel):
    number: str
    status: Status
    retailer_id: int
    shop_name: str
    vendor_id: int | None
    vendor_name: str | None
    total_paisa: int
    payment_status: str
    created_at: datetime
    due_at: datetime | None


class OrderPage(BaseModel):
    orders: list[OrderBrief]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null: last")


class RejectBody(BaseModel):
    reason: str = Field(min_length=1, max_length=300, examples=["out of stock"])

    @field_validator("reason")
    @classmethod
    def _said(cls, value: str) -> str:
        value = " ".join(value.split())
        if not value:
            raise ValueError("say why")
        return value


class ActionDone(BaseModel):
    order: OrderOut
    outcome: str | None = Field(default=None, description=(
        "after a rejection: `offered` (gone to the next vendor) or `no_vendor`"))


async def order_out(call_conn: Any, order: Order) -> OrderOut:
    shop = await users.shop(call_conn, order.retailer_id)
    return OrderOut(
        number=order.number, status=order.status, retailer_id=order.retailer_id,
        shop_name=shop.shop_name if shop else "", vendor_id=order.vendor_id,
        vendor_name=order.vendor_name, total_paisa=order.total_paisa,
        paid_paisa=order.paid_paisa, outstanding_paisa=order.outstanding_paisa,
        payment_status=order.payment_status, created_at=order.created_at,
        confirmed_at=order.confirmed_at, accepted_at=order.accepted_at, due_at=order.due_at,
        lines=[OrderLineOut(sku=li.sku, name_en=li.name_en, name_ne=li.name_ne,
                            unit=li.base_unit, quantity_milli=li.quantity_milli,
                            unit_text=li.unit_text, unit_price_paisa=li.unit_price_paisa,
                            line_total_paisa=li.line_total_paisa) for li in order.lines])


def brief(found: OrderSummary) -> OrderBrief:
    return OrderBrief(
        number=found.number, status=found.status, retailer_id=found.retailer_id,
        shop_name=found.shop_name, vendor_id=found.vendor_id, vendor_name=found.vendor_name,
        total_paisa=found.total_paisa, payment_status=found.payment_status,
        created_at=found.created_at, due_at=found.due_at)


@API.endpoint("GET", "/orders", summary="Orders you may see, newest first, a page at a time",
              query=OrdersQuery, response=OrderPage, roles=ALL_ROLES, tag="orders",
              errors=(400,))
async def list_orders(call: Call) -> OrderPage:
    """A vendor sees the orders assigned to them, a retailer their own, staff everyone's
    (filter with `vendor_id` / `retailer_id`; a vendor or retailer naming someone else is 403).
    Pages follow `next_cursor`, which stays right while new orders arrive."""
    query: OrdersQuery = call.query
    before = decode_cursor(query.cursor) if query.cursor else None
    found = await order_list.page(
        call.conn, call.actor, statuses=query.statuses(), start=query.from_, end=query.to,
        vendor_id=query.vendor_id, retailer_id=query.retailer_id, before_id=before,
        limit=query.limit)
    return OrderPage(orders=[brief(o) for o in found.orders],
                     next_cursor=encode_cursor(found.next_before_id)
                     if found.next_before_id is not None else None)


@API.endpoint("GET", "/orders/{number}", summary="One order with its lines",
              path_params=OrderPath, response=OrderOut, roles=ALL_ROLES, tag="orders",
              errors=(404,))
async def get_order(call: Call) -> OrderOut:
    """Another vendor's or retailer's order is 404, as if it did not exist."""
    path: OrderPath = call.path
    return await order_out(call.conn, await orders.visible(call.conn, path.number, call.actor))


async def _step(call: Call, action: str, reason: str = "") -> ActionDone:
    path: OrderPath = call.path
    await orders.visible(call.conn, path.number, call.actor)  # 404 before anything is said
    parser = await catalog_store.parser(call.conn)
    done = await steps.order_step(call.conn, parser, call.actor, action, path.number, reason)
    await call.send(done.others)
    return ActionDone(order=await order_out(call.conn, done.order),
                      outcome=done.outcome or None)


_VENDOR_STEP: tuple[Role, ...] = ("VENDOR", "ADMIN", "OPERATOR")


@API.endpoint("POST", "/orders/{number}/accept", summary="Accept an order offered to you",
              path_params=OrderPath, response=ActionDone, roles=("VENDOR",), idempotent=True,
              tag="orders", errors=(404, 409))
async def accept_order(call: Call) -> ActionDone:
    """As "accept KH-…" in chat: credit checked again, stock reserved, the bill posted; the
    retailer is told on WhatsApp."""
    return await _step(call, "accept")


@API.endpoint("POST", "/orders/{number}/reject", summary="Reject an order offered to you",
              path_params=OrderPath, body=RejectBody, response=ActionDone, roles=("VENDOR",),
              idempotent=True, tag="orders", errors=(404, 409))
async def reject_order(call: Call) -> ActionDone:
    """As "reject KH-… reason": the order goes to the next vendor (or operators hear nobody can
    take it); the retailer is told."""
    body: RejectBody = call.body
    return await _step(call, "reject", body.reason)


@API.endpoint("POST", "/orders/{number}/dispatch", summary="Mark an accepted order dispatched",
              path_params=OrderPath, response=ActionDone, roles=_VENDOR_STEP, idempotent=True,
              tag="orders", errors=(404, 409))
async def dispatch_order(call: Call) -> ActionDone:
    """As "dispatch KH-…": reserved stock is taken; the retailer is told it is on its way."""
    return await _step(call, "dispatch")


@API.endpoint("POST", "/orders/{number}/deliver", summary="Mark an order delivered",
              path_params=OrderPath, response=ActionDone, roles=_VENDOR_STEP, idempotent=True,
              tag="orders", errors=(404, 409))
async def deliver_order(call: Call) -> ActionDone:
    """As "deliver KH-…" (an accepted order is dispatched first); the retailer is told what is
    due and may confirm it arrived or report a problem."""
    return await _step(call, "deliver")


@API.endpoint("POST", "/orders/{number}/cancel", summary="Cancel an order",
              path_params=OrderPath, response=ActionDone,
              roles=("RETAILER", "ADMIN", "OPERATOR"), idempotent=True, tag="orders",
              errors=(404, 409))
async def cancel_order(call: Call) -> ActionDone:
    """A retailer before a vendor accepted it ("cancel KH-…"), staff up to acceptance; the
    vendor it was with is told."""
    path: OrderPath = call.path
    done = await steps.cancel(call.conn, call.actor, path.number)
    await call.send(done.others)
    return ActionDone(order=await order_out(call.conn, done.order))

