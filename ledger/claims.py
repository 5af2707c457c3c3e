"""Payments both sides agree on. A retailer says they paid ("tiriye 5000 esewa"): that is a claim,
not yet money in the ledger. The vendor confirms it (it is posted as a payment, stated by the
retailer and acknowledged by the vendor) or says it was not received (a dispute for operators).
A payment the vendor records is posted at once; its retailer may agree ("Correct") or say it is
not theirs ("Not mine") within a few days, which opens a dispute.

Claims are addressed by their reference ("C-000001"), payments by "P-000001"
(`disputes.payment_ref`): what a button carries and a person can read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from ledger import payments, provenance
from ledger.actors import Actor, is_staff
from ledger.disputes import Dispute, open_dispute, payment_ref
from ledger.errors import (
    AlreadyDone,
    ClaimNotFound,
    DisputeTooLate,
    IdempotencyConflict,
    InvalidAmount,
    NotPermitted,
    PaymentExceedsBalance,
    PaymentNotFound,
    TooManyClaims,
)
from ledger.payments import METHODS, PaymentResult
from ledger.postings import MAX_AMOUNT_PAISA, is_paisa

# Claims a retailer may have waiting at once: the vendor should answer the first ones.
MAX_PENDING = 10
MAX_KEY = 200
_PAYMENT_REF = re.compile(r"^P-(\d{1,12})$")


@dataclass(frozen=True)
class Claim:
    id: int
    ref: str
    retailer_id: int
    vendor_id: int
    vendor_name: str
    shop_name: str
    amount_paisa: int
    method: str
    reference: str
    media_id: str | None
    status: str  # pending, confirmed, rejected
    payment_id: int | None
    created_at: datetime
    replayed: bool = False


@dataclass(frozen=True)
class Confirmed:
    claim: Claim
    payment: PaymentResult


@dataclass(frozen=True)
class Rejected:
    claim: Claim
    dispute: Dispute


def _payment_id(ref: str) -> int:
    match = _PAYMENT_REF.match(ref.strip().upper())
    if match is None:
        raise PaymentNotFound(payment=ref)
    return int(match.group(1))


_SELECT = """
    SELECT c.*, v.shop_name AS vendor_name, r.shop_name
    FROM payment_claims c JOIN vendors v ON v.user_id = c.vendor_id
    JOIN retailers r ON r.user_id = c.retailer_id"""


def _claim(row: asyncpg.Record, replayed: bool = False) -> Claim:
    return Claim(
        id=row["id"], ref=row["ref"], retailer_id=row["retailer_id"], vendor_id=row["vendor_id"],
        vendor_name=row["vendor_name"], shop_name=row["shop_name"],
        amount_paisa=row["amount_paisa"], method=row["method"], reference=row["reference"],
        media_id=row["media_id"], status=row["status"], payment_id=row["payment_id"],
        created_at=row["created_at"], replayed=replayed)


async def claim(
    conn: asyncpg.Connection, retailer: Actor, *, vendor_id: int, amount_paisa: int,
    method: str, reference: str = "", media_id: str | None = None, request_key: str,
    now: datetime | None = None,
) -> Claim:
    """A retailer says they paid `vendor_id`: recorded as a claim for the vendor to confirm.

    Only what they owe that vendor can be claimed (the ledger takes no advances); the same
    `request_key` (the message that said it) returns the same claim.
    """
    if retailer.role != "RETAILER":
        raise NotPermitted(action="claim.make", role=retailer.role)
    if not is_paisa(amount_paisa) or not 0 < amount_paisa <= MAX_AMOUNT_PAISA:
        raise InvalidAmount(amount_paisa=amount_paisa)
    if method not in METHODS:
        raise ValueError(f"unknown payment method {method!r}")
    if not request_key or len(request_key) > MAX_KEY:
        raise ValueError(f"request key must be 1..{MAX_KEY} characters")
    reference = " ".join(reference.split())[:payments.MAX_REFERENCE]
    async with conn.transaction():
        # The retailer's row orders their claims: the bound below cannot be raced past.
        await conn.execute("SELECT 1 FROM retailers WHERE user_id = $1 FOR NO KEY UPDATE",
                           retailer.id)
        earlier = await conn.fetchrow(f"{_SELECT} WHERE c.request_key = $1", request_key)
        if earlier is not None:
            if (earlier["retailer_id"], earlier["vendor_id"], earlier["amount_paisa"],
                    earlier["method"]) != (retailer.id, vendor_id, amount_paisa, method):
                raise IdempotencyConflict(key=request_key)
            return _claim(earlier, replayed=True)
        balance = await conn.fetchval(
            "SELECT balance_paisa FROM ledger_accounts WHERE retailer_id = $1 AND vendor_id = $2",
            retailer.id, vendor_id)
        if balance is None or amount_paisa > balance:
            raise PaymentExceedsBalance(amount_paisa=amount_paisa, balance_paisa=balance or 0)
        waiting = await conn.fetchval(
            "SELECT count(*) FROM payment_claims WHERE retailer_id = $1 AND status = 'pending'",
            retailer.id)
        if waiting >= MAX_PENDING:
            raise TooManyClaims(pending=waiting)
        claim_id = await conn.fetchval(
            """INSERT INTO payment_claims (retailer_id, vendor_id, amount_paisa, method,
                                           reference, media_id, request_key, created_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, COALESCE($8, now())) RETURNING id""",
            retailer.id, vendor_id, amount_paisa, method, reference, media_id, request_key, now)
        return await _get(conn, claim_id)


async def _get(conn: asyncpg.Connection, claim_id: int) -> Claim:
    row = await conn.fetchrow(f"{_SELECT} WHERE c.id = $1", claim_id)
    assert row is not None
    return _claim(row)


async def get(conn: asyncpg.Connection, ref: str, actor: Actor) -> Claim:
    """A claim its retailer, its vendor or staff may see; to anyone else it does not exist."""
    row = await conn.fetchrow(f"{_SELECT} WHERE c.ref = $1", ref.strip().upper())
    if row is None or not (is_staff(actor) or actor.id in (row["retailer_id"], row["vendor_id"])):
        raise ClaimNotFound(claim=ref)
    return _claim(row)


async def _decidable(conn: asyncpg.Connection, ref: str, actor: Actor, action: str) -> Claim:
    """The claim, locked, if `actor` (its vendor, or staff) may decide it and it is undecided."""
    found = await get(conn, ref, actor)
    if not is_staff(actor) and not (actor.role == "VENDOR" and actor.id == found.vendor_id):
        raise NotPermitted(action=action, role=actor.role)
    status = await conn.fetchval("SELECT status FROM payment_claims WHERE id = $1 FOR UPDATE",
                                 found.id)
    if status != "pending":
        raise AlreadyDone(action=action, name=found.ref, status=status)
    return found


async def confirm(
    conn: asyncpg.Connection, ref: str, actor: Actor, *, now: datetime | None = None
) -> Confirmed:
    """The vendor (or staff) confirms the money came: posted as a payment, allocated oldest bill
    first, stated by the retailer and acknowledged by whoever confirmed."""
    async with conn.transaction():
        found = await _decidable(conn, ref, actor, "claim.confirm")
        result = await payments.record(
            conn, retailer_id=found.retailer_id, vendor_id=found.vendor_id,
            amount_paisa=found.amount_paisa, method=found.method, reference=found.reference,
            actor=actor, idempotency_key=f"claim:{found.ref}", now=now,
            # Both sides agree, on the entry itself (staff deciding for a vendor acknowledge none)
            stated_by=found.retailer_id,
            acknowledged_by=actor.id if actor.id == found.vendor_id else None)
        await conn.execute(
            """UPDATE payment_claims SET status = 'confirmed', payment_id = $2, decided_by = $3,
                      decided_at = COALESCE($4, now()) WHERE id = $1""",
            found.id, result.payment_id, actor.id, now)
        await provenance.acknowledge(conn, result.entry.id, stated_by=found.retailer_id,
                                     acknowledged_by=actor.id, how="claim confirmed")
        return Confirmed(await _get(conn, found.id), result)


async def reject(
    conn: asyncpg.Connection, ref: str, actor: Actor, note: str = "", *,
    now: datetime | None = None,
) -> Rejected:
    """The vendor (or staff) says the money did not come: nothing is posted, and the claim
    becomes a dispute operators see."""
    async with conn.transaction():
        found = await _decidable(conn, ref, actor, "claim.reject")
        await conn.execute(
            """UPDATE payment_claims SET status = 'rejected', decided_by = $2,
                      decided_at = COALESCE($3, now()) WHERE id = $1""", found.id, actor.id, now)
        dispute = await open_dispute(
            conn, kind="claim_not_received", retailer_id=found.retailer_id,
            vendor_id=found.vendor_id, raised_by=actor.id, claim_id=found.id,
            amount_paisa=found.amount_paisa, note=note, now=now)
        return Rejected(await _get(conn, found.id), dispute)


async def pending_count(conn: asyncpg.Connection, vendor_id: int) -> int:
    """Claims waiting for a vendor's answer (their morning digest says so)."""
    return int(await conn.fetchval(
        "SELECT count(*) FROM payment_claims WHERE vendor_id = $1 AND status = 'pending'",
        vendor_id))


@dataclass(frozen=True)
class Payment:
    id: int
    ref: str
    retailer_id: int
    vendor_id: int
    amount_paisa: int
    recorded_by: int
    received_at: datetime
    reversed: bool
    entry_id: int


async def _own_payment(conn: asyncpg.Connection, ref: str, retailer: Actor) -> Payment:
    """A payment recorded on this retailer's account, locked; others' do not exist to them."""
    if retailer.role != "RETAILER":
        raise NotPermitted(action="payment.answer", role=retailer.role)
    payment_id = _payment_id(ref)
    row = await conn.fetchrow(
        """SELECT p.*, e.id AS entry_id FROM payments p
           JOIN ledger_entries e ON e.payment_id = p.id AND e.kind = 'PAYMENT_DEBIT'
           WHERE p.id = $1 FOR UPDATE OF p""", payment_id)
    if row is None or row["retailer_id"] != retailer.id:
        raise PaymentNotFound(payment=ref)
    return Payment(row["id"], payment_ref(row["id"]), row["retailer_id"], row["vendor_id"],
                   row["amount_paisa"], row["recorded_by"], row["received_at"], row["reversed"],
                   row["entry_id"])


async def dispute_payment(
    conn: asyncpg.Connection, ref: str, retailer: Actor, *, window: timedelta, note: str = "",
    now: datetime | None = None,
) -> Dispute:
    """"Not mine": a payment a vendor recorded on this retailer's account, disputed within
    `window` of being received; operators see it, and the account is not reminded about."""
    async with conn.transaction():
        payment = await _own_payment(conn, ref, retailer)
        already = await conn.fetchval("SELECT status FROM disputes WHERE payment_id = $1",
                                      payment.id)
        if already is not None:
            raise AlreadyDone(action="payment.dispute", name=payment.ref, status=already)
        if payment.reversed:
            raise AlreadyDone(action="payment.dispute", name=payment.ref, status="REVERSED")
        moment = now or await conn.fetchval("SELECT now()")
        if moment - payment.received_at > window:
            raise DisputeTooLate(payment=payment.ref, days=window.days)
        return await open_dispute(
            conn, kind="payment_not_mine", retailer_id=payment.retailer_id,
            vendor_id=payment.vendor_id, raised_by=retailer.id, payment_id=payment.id,
            amount_paisa=payment.amount_paisa, note=note, now=now)


async def acknowledge_payment(conn: asyncpg.Connection, ref: str, retailer: Actor) -> Payment:
    """"Correct": the retailer agrees with a payment the vendor recorded (once; not after
    disputing it)."""
    async with conn.transaction():
        payment = await _own_payment(conn, ref, retailer)
        disputed = await conn.fetchval("SELECT status FROM disputes WHERE payment_id = $1",
                                       payment.id)
        if disputed is not None:
            raise AlreadyDone(action="payment.dispute", name=payment.ref, status=disputed)
        if await provenance.of_entry(conn, payment.entry_id) is not None:
            raise AlreadyDone(action="payment.acknowledge", name=payment.ref, status="")
        await provenance.acknowledge(conn, payment.entry_id, stated_by=payment.recorded_by,
                                     acknowledged_by=retailer.id, how="retailer agreed")
        return payment


async def listed(
    conn: asyncpg.Connection, actor: Actor, *, status: str | None = None, limit: int = 50,
) -> list[Claim]:
    """Claims newest first: a retailer's own, those made to a vendor, or all for staff;
    `status` pending, confirmed or rejected (None: any); at most 200."""
    if actor.role not in ("RETAILER", "VENDOR") and not is_staff(actor):
        raise NotPermitted(action="claim.read", role=actor.role)
    column = {"RETAILER": "c.retailer_id", "VENDOR": "c.vendor_id"}.get(actor.role)
    rows = await conn.fetch(
        f"""{_SELECT}
            WHERE ($1::bigint IS NULL OR {column or "c.vendor_id"} = $1)
              AND ($2::text IS NULL OR c.status = $2)
            ORDER BY c.id DESC LIMIT $3""",
        actor.id if column else None, status, min(max(limit, 1), 200))
    return [_claim(r) for r in rows]
