"""API: a retailer's balance, statement and credit score, and their credit limit.

Who may read: staff any retailer; a vendor a retailer they deal with (an account or an order
between them), and then only their own account; a retailer themselves. For anyone else the
retailer does not exist (404), so the API says nothing about who is a member. The services check
the same rights again. Setting a limit is the admin's alone (operators get 403).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from dialogs import staff
from ledger import access, credit, reports, scores, statements, users
from ledger.errors import NotPermitted
from ledger.postings import MAX_AMOUNT_PAISA
from ledger.users import User
from locales import formats
from web.api.auth import Phone
from web.api.errors import ApiError
from web.api.registry import API, Call


class RetailerPath(BaseModel):
    phone: Phone = Field(description="the retailer's mobile number, +977… or 98…")


async def retailer_for(call: Call, phone: str) -> User:
    """The retailer with `phone` if the caller may see them; 404 otherwise (also for a
    retailer they may not see: existence must not leak)."""
    target = await users.by_phone(call.conn, phone)
    if target is None or target.role != "RETAILER" or await users.shop(
            call.conn, target.id) is None:
        raise ApiError(404, "not_found")
    try:
        await access.require_sees_retailer(call.conn, call.actor, target.id)
    except NotPermitted:
        raise ApiError(404, "not_found") from None
    return target


class VendorDue(BaseModel):
    vendor_name: str
    balance_paisa: int
    overdue_paisa: int
    next_due_at: datetime | None


class Balance(BaseModel):
    """What the retailer owes; for a vendor, only what they owe that vendor."""

    phone: str
    shop_name: str
    balance_paisa: int
    overdue_paisa: int
    next_due_at: datetime | None
    credit_limit_paisa: int | None = Field(description="staff and the retailer only")
    available_paisa: int | None = Field(description="what a new order may add (staff and the "
                                                    "retailer only); negative when over")
    vendors: list[VendorDue]


@API.endpoint("GET", "/retailers/{phone}/balance", summary="Balance and dues of a retailer",
              path_params=RetailerPath, response=Balance, tag="retailers", errors=(404,))
async def retailer_balance(call: Call) -> Balance:
    path: RetailerPath = call.path
    target = await retailer_for(call, path.phone)
    found = await reports.balances(call.conn, target.id, actor=call.actor)
    shop = await users.shop(call.conn, target.id)
    limit = available = None
    if call.actor.role != "VENDOR":
        position = await credit.position(call.conn, target.id)
        limit, available = position.limit_paisa, position.available_paisa
    return Balance(phone=path.phone, shop_name=shop.shop_name if shop else target.name,
                   balance_paisa=found.total_paisa, overdue_paisa=found.overdue_paisa,
                   next_due_at=found.next_due_at, credit_limit_paisa=limit,
                   available_paisa=available,
                   vendors=[VendorDue(vendor_name=v.vendor_name, balance_paisa=v.balance_paisa,
                                      overdue_paisa=v.overdue_paisa, next_due_at=v.next_due_at)
                            for v in found.vendors])


class StatementQuery(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    start: date | None = Field(None, alias="from", description="first Nepal day, YYYY-MM-DD "
                                                               "(default: the first entry)")
    end: date | None = Field(None, alias="to", description="last Nepal day, inclusive "
                                                           "(default: today)")
    vendor: Phone | None = Field(None, description="only the account with this vendor (staff "
                                                   "and the retailer; a vendor always gets "
                                                   "their own)")

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.start and self.end and self.start > self.end:
            raise ValueError("from is after to")
        return self


class Party(BaseModel):
    name: str
    phone: str | None


class StatementLine(BaseModel):
    date: date
    date_bs: str = Field(description="the same day in Bikram Sambat")
    what: Literal["order", "bill", "payment", "order_cancelled", "payment_reversed",
                  "adjustment"]
    method: str | None
    reference: str
    vendor_name: str
    debit_paisa: int = Field(description="the retailer owes more")
    credit_paisa: int = Field(description="the retailer owes less")
    balance_paisa: int = Field(description="running, over the accounts covered")
    acknowledged: bool
    imported: bool


class Ageing(BaseModel):
    d0_30_paisa: int
    d31_60_paisa: int
    d61_90_paisa: int
    d90_plus_paisa: int


class StatementOut(BaseModel):
    retailer: Party
    vendor: Party | None
    start: date | None = Field(serialization_alias="from")
    end: date = Field(serialization_alias="to")
    opening_paisa: int
    closing_paisa: int
    lines: list[StatementLine]
    truncated: bool = Field(description="more entries than one statement holds: ask for a "
                                        "shorter period")
    ageing: Ageing
    generated_at: datetime

    model_config = ConfigDict(serialize_by_alias=True)  # "from" and "to", as asked for


@API.endpoint("GET", "/retailers/{phone}/statement", summary="Statement of a retailer",
              path_params=RetailerPath, query=StatementQuery, response=StatementOut,
              tag="retailers", errors=(404,))
async def retailer_statement(call: Call) -> StatementOut:
    """Every entry of the period on the day it happened, with the running balance, opening and
    closing balances and what is owed by age: the same statement as the PDF and CSV."""
    path: RetailerPath = call.path
    query: StatementQuery = call.query
    target = await retailer_for(call, path.phone)
    vendor_id = None
    if query.vendor is not None:
        vendor = await users.by_phone(call.conn, query.vendor)
        if vendor is None or vendor.role != "VENDOR":
            raise ApiError(404, "not_found")
        if call.actor.role == "VENDOR" and vendor.id != call.actor.id:
            raise ApiError(404, "not_found")
        vendor_id = vendor.id
    found = await statements.statement(call.conn, call.actor, retailer_id=target.id,
                                       vendor_id=vendor_id, start=query.start, end=query.end)
    return StatementOut(
        retailer=Party(name=found.retailer.name, phone=found.retailer.phone),
        vendor=None if found.vendor is None else Party(name=found.vendor.name,
                                                       phone=found.vendor.phone),
        start=found.start, end=found.end, opening_paisa=found.opening_paisa,
        closing_paisa=found.closing_paisa, truncated=found.truncated,
        generated_at=found.generated_at,
        ageing=Ageing(d0_30_paisa=found.ageing.d0_30, d31_60_paisa=found.ageing.d31_60,
                      d61_90_paisa=found.ageing.d61_90, d90_plus_paisa=found.ageing.d90_plus),
        lines=[StatementLine(date=line.happened_on, date_bs=formats.bs_date(line.happened_on, "en"),
                             what=line.what, method=line.method, reference=line.reference,
                             vendor_name=line.vendor_name, debit_paisa=line.debit_paisa,
                             credit_paisa=line.credit_paisa, balance_paisa=line.balance_paisa,
                             acknowledged=line.acknowledged, imported=line.imported)
               for line in found.lines])


class Factor(BaseModel):
    key: str
    points: int
    en: str
    ne: str


class ScoreOut(BaseModel):
    """Exactly what `khaacho score --json` prints for the retailer."""

    phone: str | None
    score: int | None = Field(description="300-900; null: too little history")
    band: str | None
    reason: str | None = Field(description="why there is no score")
    factors: list[Factor]


@API.endpoint("GET", "/retailers/{phone}/score", summary="Credit score of a retailer, and why",
              path_params=RetailerPath, response=ScoreOut, tag="retailers", errors=(404,))
async def retailer_score(call: Call) -> ScoreOut:
    path: RetailerPath = call.path
    target = await retailer_for(call, path.phone)
    score = await scores.for_retailer(call.conn, call.actor, target.id)
    return ScoreOut.model_validate(scores.as_json(target.phone, score))


class LimitRequest(BaseModel):
    limit_paisa: int = Field(ge=0, le=MAX_AMOUNT_PAISA, description="the new limit, in paisa")
    reason: str = Field(min_length=1, max_length=500, description="kept in the audit log")


class Position(BaseModel):
    limit_paisa: int
    balance_paisa: int
    unbilled_paisa: int
    available_paisa: int


@API.endpoint("POST", "/retailers/{phone}/limit", summary="Set the credit limit of a retailer",
              path_params=RetailerPath, body=LimitRequest, response=Position,
              roles=("ADMIN",), idempotent=True, tag="retailers", errors=(404,))
async def retailer_set_limit(call: Call) -> Position:
    """Admins only (operators: 403), with a reason; the retailer is told the new limit on
    WhatsApp, as when an admin types `limit` in chat."""
    path: RetailerPath = call.path
    body: LimitRequest = call.body
    target = await retailer_for(call, path.phone)
    position, tell = await staff.set_limit(call.conn, call.actor, target.id, body.limit_paisa,
                                           body.reason)
    await call.send(tell)
    return Position(limit_paisa=position.limit_paisa, balance_paisa=position.balance_paisa,
                    unbilled_paisa=position.unbilled_paisa,
                    available_paisa=position.available_paisa)
