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
