"""Domain errors of orders, stock and money: one type per failure a user can cause.

Each carries a message `key` (the dialogs render it in the user's language) and `params` for the
template, so no caller has to parse an exception's text.
"""

from __future__ import annotations

from typing import Any, ClassVar


class LedgerError(Exception):
    """Base of every user-causable failure raised by the ledger."""

    key: ClassVar[str] = "ledger.error"

    def __init__(self, **params: Any) -> None:
        self.params: dict[str, Any] = params
        detail = ", ".join(f"{k}={v!r}" for k, v in params.items())
        super().__init__(f"{self.key}: {detail}" if detail else self.key)


class OrderNotFound(LedgerError):
    key = "order.not_found"


class NotYourOrder(LedgerError):
    key = "order.not_yours"


class IllegalTransition(LedgerError):
    key = "order.illegal_transition"


class EmptyOrder(LedgerError):
    key = "order.empty"


class OrderHasPayments(LedgerError):
    key = "order.has_payments"


class InvalidQuantity(LedgerError):
    key = "order.invalid_quantity"


class UnknownProduct(LedgerError):
    key = "catalog.unknown_product"


class OverCreditLimit(LedgerError):
    key = "credit.over_limit"

    @property
    def over_by_paisa(self) -> int:
        return int(self.params["over_by_paisa"])


class StockInsufficient(LedgerError):
    key = "stock.insufficient"


class StockBelowReserved(LedgerError):
    key = "stock.below_reserved"


class NotCarried(LedgerError):
    key = "stock.not_carried"


class IdempotencyConflict(LedgerError):
    key = "idempotency.conflict"


class AlreadyReversed(LedgerError):
    key = "ledger.already_reversed"


class NotReversible(LedgerError):
    key = "ledger.not_reversible"


class PaymentExceedsBalance(LedgerError):
    key = "payment.exceeds_balance"


class InvalidAmount(LedgerError):
    key = "money.invalid_amount"


class NotPermitted(LedgerError):
    key = "auth.not_permitted"


class ReasonRequired(LedgerError):
    key = "audit.reason_required"


class UnknownRetailer(LedgerError):
    key = "retailer.unknown"


class OrderNotEditable(LedgerError):
    key = "order.not_editable"


class OrderNotPaid(LedgerError):
    key = "order.not_paid"


class NoVendorCanFill(LedgerError):
    """Nobody can take the order as it is: it is not placed (the retailer can change it)."""

    key = "order.no_vendor"


class RetailerBlocked(LedgerError):
    """A blocked shop gets no new credit: no new order, confirmation, acceptance or override."""

    key = "retailer.blocked"


class UnknownUser(LedgerError):
    key = "user.unknown"


class RoleConflict(LedgerError):
    """Adding someone who is already here in another role: roles change only on purpose."""

    key = "user.role_conflict"


class RoleChangeBlocked(LedgerError):
    """A role change that would strand what the person still has open (orders, money owed)."""

    key = "user.role_change_blocked"


class RegistrationIncomplete(LedgerError):
    """Approval waits until the person has told us their name, shop and area."""

    key = "registration.incomplete"


class AlreadyDone(LedgerError):
    """The action was taken before (a second tap on a button): nothing is repeated."""

    key = "action.already_done"


class ClaimNotFound(LedgerError):
    """No payment claim by that reference (or not one this person may see)."""

    key = "claim.not_found"


class PaymentNotFound(LedgerError):
    key = "payment.not_found"


class TooManyClaims(LedgerError):
    """A bound on claims waiting for the vendor: the vendor should answer the first ones."""

    key = "claim.too_many"


class DisputeTooLate(LedgerError):
    """A payment a vendor recorded can be disputed by chat only for a few days; after that an
    operator looks at it."""

    key = "dispute.too_late"


class NotDelivered(LedgerError):
    """Receipt is confirmed, and problems reported, only once an order is on its way or there."""

    key = "order.not_delivered"


class InvalidAnalyticsQuery(LedgerError):
    """A period or filter the analytics cannot answer: `field` (from, to, grain, area, limit),
    `problem` (not_a_date, after_to, too_early, future, unknown, too_many_points, town_only,
    out_of_range), the `value` given and, where there is one, the `max`."""

    key = "analytics.invalid"


class CodeRejected(LedgerError):
    """A sign-in code that is wrong, expired or used up (`reason`: "wrong" or "used_up"); the
    same for a number we do not know, so the answer never says who is a member."""

    key = "auth.code_rejected"


class RateLimited(LedgerError):
    """Too many requests of one kind in a while: try again after `retry_after_seconds`."""

    key = "auth.rate_limited"

    @property
    def retry_after_seconds(self) -> int:
        return int(self.params["retry_after_seconds"])
