"""What a dialog takes: one inbound event. What it gives back are replies (`locales.replies`):
dialogs never do network I/O; the outbound service renders the replies in each recipient's
language and writes them to the outbox in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from ledger.users import User
from locales.replies import Reply


@dataclass(frozen=True)
class Policy:
    """The business rules a deployment sets (from settings) that conversations apply."""

    starter_limit_paisa: int = 0  # a newly approved shop's credit limit until an admin sets one
    # How long a retailer may tap "Not mine" on a payment a vendor recorded.
    payment_dispute_window: timedelta = timedelta(days=3)
    # Bank reports: where their links point (PUBLIC_BASE_URL) and how long they stay valid.
    public_base_url: str = "http://127.0.0.1:8080"
    bank_report_days: int = 7


@dataclass(frozen=True)
class Answer:
    """A turn's replies, and its sender as the turn left them (a language switched in it, say):
    the outbound service addresses the sender's replies without reading their row again."""

    replies: list[Reply]
    sender: User | None = None


@dataclass(frozen=True)
class Event:
    inbound_id: int
    address: str  # where a reply to the sender goes
    wa_id: str | None
    wa_user_id: str | None
    profile_name: str | None
    user: User | None
    text: str
    choice_id: str | None  # id of a tapped reply button or list row
    supported: bool  # False for audio, locations, and images without a caption
    received_at: datetime
    media_id: str | None = None  # a photo's WhatsApp media id (its caption is the text)
