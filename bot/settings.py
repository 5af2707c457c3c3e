"""Settings read from the environment and `.env`; every one is documented in `.env.example`."""

from __future__ import annotations

import importlib.util
import re
from datetime import date, time, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from ledger.reminders import TEMPLATE_PARAMS

# Pause dates are a few festivals a year; a bound keeps a typo from pausing a decade.
MAX_PAUSE_DATES = 400
MAX_PAUSE_RANGE_DAYS = 60


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str | None = None
    # A read replica (or any read-only copy) for the dashboards and analytics (README: Settings,
    # docs/scaling.md); empty: they read the primary, DATABASE_URL, like everything else.
    read_database_url: str | None = None
    khaacho_data_dir: Path = Path("var")
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    log_level: str = "INFO"
    # The server's event loop: uvloop (libuv, the loop asyncpg is built to run on) or Python's
    # own asyncio loop, for a machine uvloop does not install on (Windows).
    event_loop: Literal["uvloop", "asyncio"] = "uvloop"

    whatsapp_verify_token: SecretStr | None = None
    whatsapp_app_secret: SecretStr | None = None
    whatsapp_access_token: SecretStr | None = None
    whatsapp_phone_number_id: str | None = None
    whatsapp_api_base: str = "https://graph.facebook.com/v21.0"
    whatsapp_template_name: str = "khaacho_update"
    whatsapp_template_language_en: str = "en"
    whatsapp_template_language_ne: str = "ne"

    outbox_rate_per_second: float = Field(default=20.0, gt=0, le=1000)
    outbox_max_attempts: int = Field(default=8, ge=1, le=100)
    outbox_backoff_seconds: float = Field(default=2.0, gt=0, le=3600)
    worker_poll_seconds: float = Field(default=1.0, gt=0, le=60)
    # How much lower a `--role workers` process's CPU priority is (Unix nice): on a machine it
    # shares with a `--role web` process, the webhook is acknowledged first. 0 leaves it alone.
    workers_nice: int = Field(default=5, ge=0, le=19)
    inbound_max_attempts: int = Field(default=5, ge=1, le=100)

    draft_expiry_minutes: int = Field(default=60, ge=1, le=7 * 24 * 60)
    vendor_response_minutes: int = Field(default=30, ge=1, le=7 * 24 * 60)
    dialog_jobs_seconds: float = Field(default=30.0, gt=0, le=3600)
    # The credit limit a newly approved shop starts with, in rupees, until an admin sets one.
    starter_credit_limit_npr: int = Field(default=10_000, ge=0, le=10_000_000)
    ledger_check_seconds: float = Field(default=900.0, gt=0, le=24 * 3600)
    # Operators and admins get one WhatsApp message when something needs a person (the sender
    # gets nothing through, the ledger check failed) and one when it clears (dialogs/alerts.py).
    operator_alerts_enabled: bool = True
    # The sender is failing when, in this window, this many messages failed and none was sent...
    alert_sender_window_seconds: float = Field(default=300.0, gt=0, le=24 * 3600)
    alert_sender_min_failed: int = Field(default=3, ge=1, le=10_000)
    # ...or when the oldest unsent message has waited this long.
    alert_outbox_oldest_seconds: float = Field(default=900.0, gt=0, le=7 * 24 * 3600)
    # The analytics' summary tables are brought up to date this often (README: Analytics); 0: not
    # by the server (only `khaacho analytics refresh`).
    analytics_refresh_seconds: float = Field(default=600.0, ge=0, le=24 * 3600)
    # Inbound and outbound message rows older than this move to the archive tables (README:
    # Message retention); 0: kept in the live tables for ever.
    message_retention_days: int = Field(default=180, ge=0, le=36_500)

    # Payment reminders (README: Reminders): the ladder of days from a bill's due date, then
    # every REMINDER_REPEAT_DAYS; quiet hours and pause dates in Nepal time; the approved
    # templates used outside the 24-hour window, with the parameters each takes in order.
    reminders_enabled: bool = True
    reminder_days: Annotated[tuple[int, ...], NoDecode] = (-3, 0, 1, 7, 15, 30)
    reminder_repeat_days: int = Field(default=7, ge=0, le=365)
    reminder_quiet_hours: Annotated[tuple[time, time], NoDecode] = (time(20, 0), time(8, 0))
    reminder_pause_dates: Annotated[frozenset[date], NoDecode] = frozenset()
    vendor_digest_at: time = time(8, 0)
    reminder_claim_hold_days: int = Field(default=3, ge=0, le=90)
    reminder_template_due_soon: str = Field(default="khaacho_due_soon", min_length=1)
    reminder_template_due_soon_params: Annotated[tuple[str, ...], NoDecode] = (
        "name", "total", "due_date", "vendors")
    reminder_template_due_today: str = Field(default="khaacho_due_today", min_length=1)
    reminder_template_due_today_params: Annotated[tuple[str, ...], NoDecode] = (
        "name", "total", "vendors")
    reminder_template_overdue: str = Field(default="khaacho_overdue", min_length=1)
    reminder_template_overdue_params: Annotated[tuple[str, ...], NoDecode] = (
        "name", "overdue", "total", "vendors")
    # A retailer may tap "Not mine" on a payment a vendor recorded for this many days.
    payment_dispute_days: int = Field(default=3, ge=0, le=90)
    # Bank reports (README: Bank report): links are PUBLIC_BASE_URL/r/<token>, valid this long.
    public_base_url: str = Field(default="http://127.0.0.1:8080",
                                 pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$", max_length=200)
    bank_report_days: int = Field(default=7, ge=1, le=90)

    # Suggested credit limits (ledger/limit_suggestions.py): reviewed once a Nepal day from this
    # time, offered to staff when at least the percent (and one step) away from the limit.
    limit_suggestions_enabled: bool = True
    limit_suggestions_at: time = time(10, 0)
    limit_suggestion_cap_npr: int = Field(default=500_000, ge=1, le=100_000_000)
    limit_suggestion_step_npr: int = Field(default=1_000, ge=1, le=1_000_000)
    limit_suggestion_min_change_percent: int = Field(default=20, ge=1, le=100)

    # The web chat simulator lets anyone speak as any number: only on request, for local use.
    simulator_enabled: bool = False
    # Bearer token for /metrics; without one, /metrics is served to this machine only.
    metrics_token: SecretStr | None = None
    metrics_refresh_seconds: float = Field(default=5.0, gt=0, le=3600)
    hsts_max_age_seconds: int = Field(default=31_536_000, ge=0, le=2 * 31_536_000)
    http_idle_timeout_seconds: float = Field(default=20.0, gt=0, le=3600)
    http_body_timeout_seconds: float = Field(default=10.0, gt=0, le=600)
    # On SIGTERM: how long requests in flight and the message in hand get before the process
    # exits anyway (docs/operations.md: Deploys).
    shutdown_timeout_seconds: float = Field(default=20.0, gt=0, le=300)
    # Bank reports are signed with this Ed25519 key: base64 of its 32 raw bytes (README: Bank
    # report). Unset: generated once into KHAACHO_DATA_DIR, except with WhatsApp configured.
    report_signing_key: SecretStr | None = None
    # The owner that migrates (README: Database roles); empty: the role of DATABASE_URL, which
    # then owns the tables it is guarded by (simple setups only).
    migrate_database_url: str | None = None

    # Sending once and fairly (bot/sender.py) and flood control (bot/inbox.py).
    outbox_send_timeout_seconds: float = Field(default=15.0, gt=0, le=300)
    outbox_confirm_seconds: float = Field(default=30.0, gt=0, le=3600)
    outbox_concurrency: int = Field(default=8, ge=1, le=64)
    inbound_sender_max_per_window: int = Field(default=30, ge=1, le=10_000)
    inbound_sender_window_seconds: float = Field(default=60.0, gt=0, le=24 * 3600)

    # Signing in to the web and the API (README: Web and API; ledger/auth.py).
    signin_code_minutes: int = Field(default=5, ge=1, le=60)
    signin_code_tries: int = Field(default=5, ge=1, le=20)
    signin_codes_per_phone: int = Field(default=3, ge=1, le=100)
    signin_phone_window_minutes: int = Field(default=15, ge=1, le=24 * 60)
    signin_codes_per_address: int = Field(default=20, ge=1, le=10_000)
    signin_address_window_minutes: int = Field(default=60, ge=1, le=24 * 60)
    # The approved WhatsApp authentication template (one body parameter: the code) a code goes
    # as when the person has not written in the last 24 hours.
    signin_template_name: str = Field(default="khaacho_signin_code", min_length=1)
    web_session_days: int = Field(default=14, ge=1, le=365)
    api_token_days: int = Field(default=30, ge=1, le=365)
    api_rate_per_minute: int = Field(default=120, ge=1, le=100_000)
    # Behind a reverse proxy on the same host: the client is the last X-Forwarded-For address.
    web_trust_forwarded_for: bool = False
    @field_validator("reminder_days", mode="before")
    @classmethod
    def _days(cls, value: Any) -> Any:
        """"-3,0,1,7,15,30": days from the due date, in order."""
        if isinstance(value, str):
            value = tuple(int(part) for part in _parts(value))
        days = tuple(value)
        if not days or list(days) != sorted(set(days)) or days[0] < -60 or days[-1] > 3650:
            raise ValueError("distinct days in increasing order, from -60 to 3650")
        return days

    @field_validator("reminder_quiet_hours", mode="before")
    @classmethod
    def _quiet(cls, value: Any) -> Any:
        """"20:00-08:00" (may span midnight); "00:00-00:00" for none."""
        if isinstance(value, str):
            match = re.fullmatch(r"\s*(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})\s*", value)
            if match is None:
                raise ValueError("quiet hours as HH:MM-HH:MM, e.g. 20:00-08:00")
            return (time.fromisoformat(match.group(1).zfill(5)),
                    time.fromisoformat(match.group(2).zfill(5)))
        return value

    @field_validator("reminder_pause_dates", mode="before")
    @classmethod
    def _pauses(cls, value: Any) -> Any:
        """"2026-10-17..2026-10-26,2026-11-08": days (AD) and inclusive ranges of days."""
        if not isinstance(value, str):
            return value
        days: set[date] = set()
        for part in _parts(value):
            first, _, last = part.partition("..")
            start = date.fromisoformat(first.strip())
            end = date.fromisoformat(last.strip()) if last else start
            if not 0 <= (end - start).days < MAX_PAUSE_RANGE_DAYS:
                raise ValueError(f"{part}: a range goes forward, at most "
                                 f"{MAX_PAUSE_RANGE_DAYS} days")
            days.update(start + timedelta(days=n) for n in range((end - start).days + 1))
        if len(days) > MAX_PAUSE_DATES:
            raise ValueError(f"at most {MAX_PAUSE_DATES} pause dates")
        return frozenset(days)

    @field_validator("reminder_template_due_soon_params", "reminder_template_due_today_params",
                     "reminder_template_overdue_params", mode="before")
    @classmethod
    def _params(cls, value: Any) -> Any:
        """"name,total,vendors": which reminder facts fill the template's parameters, in order."""
        params = tuple(_parts(value)) if isinstance(value, str) else tuple(value)
        unknown = [p for p in params if p not in TEMPLATE_PARAMS]
        if unknown:
            raise ValueError(f"unknown parameters {unknown}: use {', '.join(TEMPLATE_PARAMS)}")
        return params

    @property
    def whatsapp_enabled(self) -> bool:
        """Send through the Graph API only with credentials; otherwise the local channel."""
        return bool(self.whatsapp_access_token and self.whatsapp_phone_number_id)

    def whatsapp_settings_given(self) -> list[str]:
        """Which of the WhatsApp settings the server needs are set (an empty value is unset)."""
        return [name.upper() for name in WHATSAPP_REQUIRED if _given(getattr(self, name))]

    @property
    def simulator_served(self) -> bool:
        """Only enabled, and never next to any WhatsApp setting: it speaks as anyone."""
        return self.simulator_enabled and not self.whatsapp_settings_given()

    def serve_problems(self) -> list[str]:
        """Why `khaacho serve` must not start with these settings, one line each.

        Half a WhatsApp configuration serves neither WhatsApp nor a safe local setup (the
        access token unset once opened the simulator to anyone), and the simulator must never
        run next to a real WhatsApp number.
        """
        given = self.whatsapp_settings_given()
        missing = [name.upper() for name in WHATSAPP_REQUIRED if name.upper() not in given]
        problems = []
        if given and missing:
            problems.append(
                f"WhatsApp is half configured: missing {', '.join(missing)} "
                f"(set: {', '.join(given)}); set all four, or none for local use")
        if self.simulator_enabled and given:
            problems.append(
                "SIMULATOR_ENABLED is for local use without WhatsApp; unset it or "
                + ", ".join(given))
        if self.event_loop == "uvloop" and importlib.util.find_spec("uvloop") is None:
            problems.append("EVENT_LOOP is uvloop, which is not installed here (it is not on "
                            "Windows); set EVENT_LOOP=asyncio")
        return problems


WHATSAPP_REQUIRED = ("whatsapp_access_token", "whatsapp_phone_number_id",
                     "whatsapp_app_secret", "whatsapp_verify_token")


def _given(value: object) -> bool:
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    return isinstance(value, str) and bool(value.strip())


def _parts(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]
