"""Settings read from the environment and `.env`; every one is documented in `.env.example`."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str | None = None
    khaacho_data_dir: Path = Path("var")
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    log_level: str = "INFO"

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
    inbound_max_attempts: int = Field(default=5, ge=1, le=100)

    draft_expiry_minutes: int = Field(default=60, ge=1, le=7 * 24 * 60)
    vendor_response_minutes: int = Field(default=30, ge=1, le=7 * 24 * 60)
    dialog_jobs_seconds: float = Field(default=30.0, gt=0, le=3600)
    # The credit limit a newly approved shop starts with, in rupees, until an admin sets one.
    starter_credit_limit_npr: int = Field(default=10_000, ge=0, le=10_000_000)
    ledger_check_seconds: float = Field(default=900.0, gt=0, le=24 * 3600)

    # The web chat simulator lets anyone speak as any number: only on request, for local use.
    simulator_enabled: bool = False
    # Bearer token for /metrics; without one, /metrics is served to this machine only.
    metrics_token: SecretStr | None = None
    metrics_refresh_seconds: float = Field(default=5.0, gt=0, le=3600)
    hsts_max_age_seconds: int = Field(default=31_536_000, ge=0, le=2 * 31_536_000)
    http_idle_timeout_seconds: float = Field(default=20.0, gt=0, le=3600)
    http_body_timeout_seconds: float = Field(default=10.0, gt=0, le=600)
    # The owner that migrates (README: Database roles); empty: the role of DATABASE_URL, which
    # then owns the tables it is guarded by (simple setups only).
    migrate_database_url: str | None = None

    # Sending once and fairly (bot/sender.py) and flood control (bot/inbox.py).
    outbox_send_timeout_seconds: float = Field(default=15.0, gt=0, le=300)
    outbox_confirm_seconds: float = Field(default=30.0, gt=0, le=3600)
    outbox_concurrency: int = Field(default=8, ge=1, le=64)
    inbound_sender_max_per_window: int = Field(default=30, ge=1, le=10_000)
    inbound_sender_window_seconds: float = Field(default=60.0, gt=0, le=24 * 3600)

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
        return problems


WHATSAPP_REQUIRED = ("whatsapp_access_token", "whatsapp_phone_number_id",
                     "whatsapp_app_secret", "whatsapp_verify_token")


def _given(value: object) -> bool:
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    return isinstance(value, str) and bool(value.strip())
