"""API for admins and operators: people (find, approve, block, unblock), failed messages, and
the dashboard every role has (staff: the town's today; a vendor: their own; a retailer: theirs).

The decisions are `dialogs.staff`'s, shared with chat's commands: the same services, the same
WhatsApp messages to the people involved, queued in the request's transaction. They take an
Idempotency-Key: a retry gets the first outcome (a second approve without one is 409).
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from dialogs import staff
from ledger import catalog_store, credit, people, reports, users
from ledger.people import Person, Standing
from ledger.users import Role, User
from locales import formats
from web.api.auth import Phone
from web.api.errors import ApiError
from web.api.registry import API, Call

STAFF: tuple[Role, ...] = ("ADMIN", "OPERATOR")


class PersonOut(BaseModel):
    phone: str | None
    name: str
    role: Role
    status: Standing
    shop_name: str | None
    area: str
    credit_limit_paisa: int | None
    balance_paisa: int | None = Field(description="a retailer's, over all vendors")


def person_out(p: Person) -> PersonOut:
    return PersonOut(phone=p.user.phone, name=p.user.name, role=p.user.role, status=p.standing,
                     shop_name=p.shop_name, area=p.area, credit_limit_paisa=p.limit_paisa,
                     balance_paisa=p.balance_paisa)


class UsersQuery(BaseModel):
    role: Role | None = None
    status: Standing | None = None
    area: str = Field("", max_length=80, description="any part of the area, any case")
    q: str = Field("", max_length=80, description="any part of the name, shop or phone")
    limit: int = Field(50, ge=1, le=people.MAX_PAGE)
    offset: int = Field(0, ge=0, le=100_000)


class UsersPage(BaseModel):
    users: list[PersonOut]
    more: bool = Field(description="there are more after this page (raise offset)")


@API.endpoint("GET", "/users", summary="Find people", query=UsersQuery, response=UsersPage,
              roles=STAFF, tag="users")
async def users_list(call: Call) -> UsersPage:
    """Everyone, registrations waiting for a decision first (oldest first), then by name."""
    query: UsersQuery = call.query
    found, more = await people.search(call.conn, call.actor, role=query.role,
                                      standing=query.status, area=query.area, text=query.q,
                                      limit=query.limit, offset=query.offset)
    return UsersPage(users=[person_out(p) for p in found], more=more)


class UserPath(BaseModel):
    phone: Phone


async def _target(call: Call, phone: str) -> User:
    target = await users.by_phone(call.conn, phone)
    if target is None:
        raise ApiError(404, "not_found")
    return target


async def _person(call: Call, user: User) -> PersonOut:
    found = await people.one(call.conn, call.actor, user.id)
    assert found is not None
    return person_out(found)


@API.endpoint("GET", "/users/{phone}", summary="One person", path_params=UserPath,
              response=PersonOut, roles=STAFF, tag="users", errors=(404,))
async def user_get(call: Call) -> PersonOut:
    path: UserPath = call.path
    return await _person(call, await _target(call, path.phone))


class ApproveRequest(BaseModel):
    role: Role = Field("RETAILER", description="RETAILER or VENDOR (ADMIN and OPERATOR: "
                                               "admins only)")


@API.endpoint("POST", "/users/{phone}/approve", summary="Approve a waiting registration",
              path_params=UserPath, body=ApproveRequest, response=PersonOut, roles=STAFF,
              idempotent=True, tag="users", errors=(404,))
async def user_approve(call: Call) -> PersonOut:
    """They are told on WhatsApp, as when staff approve in chat; a new shop starts with the
    starter credit limit. Not waiting (approved, blocked, still registering): 409."""
    path: UserPath = call.path
    body: ApproveRequest = call.body
    done = await staff.approve(call.conn, call.actor, await _target(call, path.phone), body.role,
                               starter_limit_paisa=call.settings.starter_credit_limit_npr * 100)
    await call.send(done.tell)
    return await _person(call, done.user)


class ReasonRequest(BaseModel):
    reason: str = Field("", max_length=500)


class BlockedOut(BaseModel):
    user: PersonOut
    cancelled: list[str] = Field(description="a shop's orders no vendor had accepted: cancelled")
    passed_on: list[str] = Field(description="a vendor's offers: gone to the next vendor")
    kept: list[str] = Field(description="accepted orders, left to finish")


@API.endpoint("POST", "/users/{phone}/block", summary="Block someone", path_params=UserPath,
              body=ReasonRequest, response=BlockedOut, roles=STAFF, idempotent=True,
              tag="users", errors=(404,))
async def user_block(call: Call) -> BlockedOut:
    """No new orders or credit; their open orders are settled as a block in chat settles them
    (and the vendors and shops involved are told). Only admins block staff."""
    path: UserPath = call.path
    body: ReasonRequest = call.body
    target = await _target(call, path.phone)
    done, tell = await staff.block(call.conn, await catalog_store.parser(call.conn), call.actor,
                                   target, body.reason)
    await call.send(tell)
    return BlockedOut(user=await _person(call, done.user),
                      cancelled=[o.number for o in done.cancelled],
                      passed_on=[o.order.number for o in done.passed_on],
                      kept=[o.number for o in done.kept])


@API.endpoint("POST", "/users/{phone}/unblock", summary="Unblock someone", path_params=UserPath,
              body=ReasonRequest, response=PersonOut, roles=STAFF, idempotent=True,
              tag="users", errors=(404,))
async def user_unblock(call: Call) -> PersonOut:
    """Back as they were (same role, shop, limit), and told so; a stranger blocked while
    registering waits for a decision again."""
    path: UserPath = call.path
    body: ReasonRequest = call.body
    unblocked, tell = await staff.unblock(call.conn, call.actor,
                                          await _target(call, path.phone), body.reason)
    await call.send(tell)
    return await _person(call, unblocked)


class FailedQuery(BaseModel):
    before: int | None = Field(None, ge=1, description="the oldest id of the page before")
    limit: int = Field(50, ge=1, le=reports.MAX_FAILED_PAGE)


class FailedOut(BaseModel):
    id: int
    recipient: str
    name: str | None = Field(description="who it was for, when they are a member")
    kind: str
    preview: str
    error: str = Field(description="why it failed, as WhatsApp answered")
    attempts: int
    created_at: datetime


class FailedPage(BaseModel):
    messages: list[FailedOut]


@API.endpoint("GET", "/messages/failed", summary="Messages that could not be delivered",
              query=FailedQuery, response=FailedPage, roles=STAFF, tag="messages")
async def messages_failed(call: Call) -> FailedPage:
    query: FailedQuery = call.query
    rows = await reports.failed_messages(call.conn, call.actor, before_id=query.before,
                                         limit=query.limit)
    return FailedPage(messages=[FailedOut(
        id=r.id, recipient=r.recipient, name=r.name, kind=r.kind, preview=r.preview,
        error=r.error, attempts=r.attempts, created_at=r.created_at) for r in rows])


class TownToday(BaseModel):
    orders: int
    orders_value_paisa: int
    outstanding_paisa: int
    overdue_paisa: int
    failed_messages: int
    registrations_waiting: int


class VendorToday(BaseModel):
    open_orders: int = Field(description="confirmed and not finished (at most 200 counted)")
    receivable_paisa: int
    receivable_by_age: dict[str, int] = Field(description="days since billed: 0-30 … 90+")


class RetailerToday(BaseModel):
    balance_paisa: int
    overdue_paisa: int
    next_due_at: datetime | None
    credit_limit_paisa: int
    available_paisa: int
    open_orders: int


class Dashboard(BaseModel):
    """One of `town`, `vendor`, `retailer` is set, by the caller's role."""

    role: Role
    day: date = Field(description="today in Nepal")
    town: TownToday | None = None
    vendor: VendorToday | None = None
    retailer: RetailerToday | None = None


@API.endpoint("GET", "/dashboard", summary="Today at a glance, for the role of the caller",
              response=Dashboard, tag="dashboard", reads_replica=True)
async def dashboard(call: Call) -> Dashboard:
    """Staff: the town's today (the admin report of the Today page and chat's `report`);
    a vendor: their open orders and receivables; a retailer: what they owe and their credit.
    From the read replica when there is one: it may be a few seconds behind a write just made
    (`GET /orders/{number}` reads the primary)."""
    actor = call.actor
    today = datetime.now(formats.NEPAL_TIME).date()
    out = Dashboard(role=actor.role, day=today)
    if actor.role in STAFF:
        report = await reports.admin_report(call.conn, actor, today)
        out.town = TownToday(
            orders=report.daily.orders, orders_value_paisa=report.daily.orders_value_paisa,
            outstanding_paisa=report.daily.outstanding_paisa,
            overdue_paisa=report.daily.overdue_paisa, failed_messages=report.failed_count,
            registrations_waiting=report.pending_registrations)
    elif actor.role == "VENDOR":
        ageing = await reports.ageing(call.conn, actor=actor, vendor_id=actor.id)
        out.vendor = VendorToday(
            open_orders=len(await reports.open_orders(call.conn, actor=actor,
                                                      vendor_id=actor.id, limit=200)),
            receivable_paisa=ageing.total,
            receivable_by_age={"0-30": ageing.d0_30, "31-60": ageing.d31_60,
                               "61-90": ageing.d61_90, "90+": ageing.d90_plus})
    else:
        balances = await reports.balances(call.conn, actor.id, actor=actor)
        position = await credit.position(call.conn, actor.id)
        out.retailer = RetailerToday(
            balance_paisa=balances.total_paisa, overdue_paisa=balances.overdue_paisa,
            next_due_at=balances.next_due_at, credit_limit_paisa=position.limit_paisa,
            available_paisa=position.available_paisa,
            open_orders=len(await reports.open_orders(call.conn, actor=actor,
                                                      retailer_id=actor.id, limit=200)))
    return out
