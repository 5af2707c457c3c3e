"""API endpoints for payments: a vendor records one (as "paid KH-… 5000" in chat), a retailer
says they paid (a claim), the vendor confirms or refuses a claim. Each tells the other side on
WhatsApp exactly as chat does (`dialogs.steps`)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal, Self

from pydantic import BaseModel, Field, model_validator

from dialogs import steps
from ledger import access, claims, orders, users
from ledger.claims import Claim
from ledger.errors import UnknownRetailer
from web.api.auth import Phone
from web.api.orders import Number
from web.api.registry import ALL_ROLES, API, IDEMPOTENCY_HEADER, Call

Method = Literal["cash", "bank", "esewa", "khalti", "fonepay", "cheque", "other"]


def ledger_key(call: Call, kind: str) -> str:
    """The ledger's own idempotency key: from the request's Idempotency-Key when it has one
    (a retry the registry did not catch still posts once), else a fresh one."""
    given = call.request.headers.get(IDEMPOTENCY_HEADER)
    return f"{kind}:api:{call.actor.id}:{given}" if given else f"{kind}:api:{uuid.uuid4()}"


class PaymentRequest(BaseModel):
    order_number: Number | None = Field(default=None, description="the order it pays (its "
                                        "account; allocated oldest bill first anyway)")
    retailer_phone: Phone | None = Field(default=None, description="or the retailer")
    amount_paisa: int = Field(ge=1, le=10**12)
    method: Method = "cash"
    reference: str = Field(default="", max_length=100)

    @model_validator(mode="after")
    def _one_account(self) -> Self:
        if (self.order_number is None) == (self.retailer_phone is None):
            raise ValueError("give order_number or retailer_phone (one of them)")
        return self


class AllocationOut(BaseModel):
    order_number: str
    amount_paisa: int
    payment_status: str


class PaymentOut(BaseModel):
    payment: str = Field(description="P-000123")
    retailer_id: int
    shop_name: str
    amount_paisa: int
    method: str
    balance_paisa: int = Field(description="what the retailer owes you after it")
    allocations: list[AllocationOut]


class ClaimsQuery(BaseModel):
    status: Literal["pending", "confirmed", "rejected"] | None = None
    limit: int = Field(default=50, ge=1, le=100)


class ClaimOut(BaseModel):
    ref: str
    retailer_id: int
    shop_name: str
    vendor_id: int
    vendor_name: str
    amount_paisa: int
    method: str
    reference: str
    status: str
    payment: str | None
    created_at: datetime


class ClaimList(BaseModel):
    claims: list[ClaimOut]


class ClaimRequest(BaseModel):
    vendor_id: int = Field(ge=1, le=2**62)
    amount_paisa: int = Field(ge=1, le=10**12)
    method: Method = "cash"
    reference: str = Field(default="", max_length=100)


class ClaimPath(BaseModel):
    ref: str = Field(pattern=r"^[Cc]-\d{1,12}$", examples=["C-000001"])


class RejectClaim(BaseModel):
    note: str = Field(default="", max_length=300)


class Decision(BaseModel):
    claim: ClaimOut
    payment: PaymentOut | None = None
    dispute: str | None = Field(default=None, description="DS-000001, when refused")


def claim_out(found: Claim) -> ClaimOut:
    return ClaimOut(ref=found.ref, retailer_id=found.retailer_id, shop_name=found.shop_name,
                    vendor_id=found.vendor_id, vendor_name=found.vendor_name,
                    amount_paisa=found.amount_paisa, method=found.method,
                    reference=found.reference, status=found.status,
                    payment=f"P-{found.payment_id:06d}" if found.payment_id else None,
                    created_at=found.created_at)


def payment_out(done: steps.Recorded, amount: int, method: str) -> PaymentOut:
    result = done.result
    return PaymentOut(
        payment=f"P-{result.payment_id:06d}", retailer_id=done.retailer_id,
        shop_name=done.shop_name, amount_paisa=amount, method=method,
        balance_paisa=result.balance_paisa,
        allocations=[AllocationOut(order_number=a.order_number, amount_paisa=a.amount_paisa,
                                   payment_status=a.payment_status) for a in result.allocations])


@API.endpoint("POST", "/payments", summary="Record a payment a retailer made to you",
              body=PaymentRequest, response=PaymentOut, status=201, roles=("VENDOR",),
              idempotent=True, tag="payments", errors=(404, 409))
async def record_payment(call: Call) -> PaymentOut:
    """As "paid KH-000123 5000 esewa" or "paid 9820000001 5000": posted at once (at most what
    they owe you), and the retailer is told and may answer Correct or Not mine."""
    body: PaymentRequest = call.body
    retailer_id = None
    if body.retailer_phone is not None:
        retailer = await users.by_phone(call.conn, body.retailer_phone)
        if retailer is None or retailer.role != "RETAILER" or not await access.serves(
                call.conn, call.actor.id, retailer.id):
            raise UnknownRetailer(user_id=0)
        retailer_id = retailer.id
    else:
        assert body.order_number is not None
        await orders.visible(call.conn, body.order_number, call.actor)
    done = await steps.record_payment(
        call.conn, call.actor, amount_paisa=body.amount_paisa, method=body.method,
        key=ledger_key(call, "payment"), number=body.order_number, retailer_id=retailer_id,
        reference=body.reference, vendor_name=call.actor.name)
    await call.send(done.others)
    return payment_out(done, body.amount_paisa, body.method)


@API.endpoint("GET", "/payments/claims", summary="Payment claims: yours, or those made to you",
              query=ClaimsQuery, response=ClaimList, roles=ALL_ROLES, tag="payments")
async def list_claims(call: Call) -> ClaimList:
    """A retailer sees the payments they said they made, a vendor those said to be made to
    them, staff all; newest first."""
    query: ClaimsQuery = call.query
    return ClaimList(claims=[claim_out(c) for c in await claims.listed(
        call.conn, call.actor, status=query.status, limit=query.limit)])


@API.endpoint("POST", "/payments/claims", summary="Say you paid a vendor (they confirm it)",
              body=ClaimRequest, response=ClaimOut, status=201, roles=("RETAILER",),
              idempotent=True, tag="payments", errors=(409,))
async def make_claim(call: Call) -> ClaimOut:
    """As "tiriye 5000 esewa" in chat: at most what you owe that vendor; the vendor is asked on
    WhatsApp to Confirm or say Not received."""
    body: ClaimRequest = call.body
    made = await claims.claim(call.conn, call.actor, vendor_id=body.vendor_id,
                              amount_paisa=body.amount_paisa, method=body.method,
                              reference=body.reference, request_key=ledger_key(call, "claim"))
    await call.send(steps.claim_made(made))
    return claim_out(made)


async def _decide(call: Call, confirm: bool, note: str = "") -> Decision:
    path: ClaimPath = call.path
    done = await steps.decide_claim(call.conn, path.ref.upper(), call.actor, confirm=confirm,
                                    vendor_name=call.actor.name, note=note)
    await call.send(done.others)
    payment = None
    if done.payment is not None:
        payment = payment_out(steps.Recorded(done.payment, done.claim.retailer_id,
                                             done.claim.shop_name, []),
                              done.claim.amount_paisa, done.claim.method)
    return Decision(claim=claim_out(done.claim), payment=payment,
                    dispute=done.dispute.ref if done.dispute else None)


@API.endpoint("POST", "/payments/claims/{ref}/confirm", summary="Confirm a claimed payment came",
              path_params=ClaimPath, response=Decision, roles=("VENDOR", "ADMIN", "OPERATOR"),
              idempotent=True, tag="payments", errors=(404, 409))
async def confirm_claim(call: Call) -> Decision:
    """As tapping Confirm: posted as the retailer's payment (stated by them, acknowledged by
    you); the retailer is told. A claim decided already is 409."""
    return await _decide(call, True)


@API.endpoint("POST", "/payments/claims/{ref}/reject", summary="Say a claimed payment never came",
              path_params=ClaimPath, body=RejectClaim, response=Decision,
              roles=("VENDOR", "ADMIN", "OPERATOR"), idempotent=True, tag="payments",
              errors=(404, 409))
async def reject_claim(call: Call) -> Decision:
    """As tapping Not received: nothing is posted; a dispute opens that the retailer and
    operators hear of."""
    body: RejectClaim = call.body
    return await _decide(call, False, body.note)
