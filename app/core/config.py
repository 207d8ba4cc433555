from enum import StrEnum
from functools import lru_cache
from typing import Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_ADMIN_TOKEN = "change-me"


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class Settings(BaseSettings):
    """All configuration, read from the environment (or a `.env` file)."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    environment: Environment = Environment.DEVELOPMENT
    database_url: str = "sqlite+aiosqlite:///./data/clinic_sms.db"
    redis_url: str = "redis://localhost:6379/0"
    admin_token: SecretStr = SecretStr(DEFAULT_ADMIN_TOKEN)
    public_base_url: str = "http://localhost:8000"

    linkmobility_base_url: str = "https://n-eu.linkmobility.io"
    sinch_base_url: str = "https://eu.sms.api.sinch.com"
    twilio_base_url: str = "https://api.twilio.com"

    database_pool_size: int = Field(default=10, ge=1)
    sweep_interval_seconds: int = Field(default=20, ge=15, le=30)
    heartbeat_interval_seconds: int = Field(default=15, ge=5, le=60)
    send_batch_size: int = Field(default=1000, ge=1, le=1000)
    dispatch_lanes: int = Field(default=2, ge=1, le=8, description="Concurrent send loops")
    sending_stale_seconds: int = Field(
        default=30, ge=1, description="No claim younger than this is settled as abandoned"
    )
    worker_dead_after_seconds: int = Field(
        default=60, ge=1, description="A worker whose heartbeat is this old has died"
    )
    longest_send_seconds: int = Field(
        default=1800, ge=60, description="A claim older than this is settled, worker or not"
    )
    private_event_urls: bool | None = Field(
        default=None,
        description="Whether event subscriptions may point into private networks (loopback, "
        "RFC 1918, link-local). Unset: yes in development and tests, no in production.",
    )
    log_level: str = "INFO"
    metrics_token: SecretStr | None = Field(
        default=None,
        description="When set, GET /metrics wants `Authorization: Bearer <token>`.",
    )

    @model_validator(mode="after")
    def _refuse_default_secrets_in_production(self) -> Self:
        if (
            self.environment is Environment.PRODUCTION
            and self.admin_token.get_secret_value() == DEFAULT_ADMIN_TOKEN
        ):
            raise ValueError("ADMIN_TOKEN must be set to a secret value in production")
        if len(self.admin_token.get_secret_value()) < 8:
            raise ValueError("ADMIN_TOKEN must be at least 8 characters long")
        return self

    @property
    def allows_private_event_urls(self) -> bool:
        if self.private_event_urls is not None:
            return self.private_event_urls
        return self.environment is not Environment.PRODUCTION

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
