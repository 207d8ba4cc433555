from enum import StrEnum
from functools import lru_cache
from typing import Self

from cryptography.fernet import Fernet
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
    idempotency_ttl_hours: int = Field(
        default=24, ge=1, le=720, description="An Idempotency-Key is replayed this long"
    )
    heartbeat_interval_seconds: int = Field(default=15, ge=5, le=60)
    sandbox_slow_delivery_seconds: int = Field(
        default=7200,
        ge=1,
        le=86400,
        description="When the sandbox reports delivery to its slow test number",
    )
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
    failover_failure_threshold: int = Field(
        default=5,
        ge=1,
        le=1000,
        description="Failures in a row, each proving the provider took nothing, that open "
        "its circuit: a clinic's messages then go to its secondary provider",
    )
    failover_probe_after_seconds: int = Field(
        default=60,
        ge=5,
        le=3600,
        description="How long a provider's circuit stays open before one message probes it",
    )
    private_event_urls: bool | None = Field(
        default=None,
        description="Whether event subscriptions may point into private networks (loopback, "
        "RFC 1918, link-local). Unset: yes in development and tests, no in production.",
    )
    rate_limit_per_minute: int = Field(
        default=600,
        ge=1,
        le=1_000_000,
        description="Requests a minute per API key, for clinics that set no limit of their own",
    )
    admin_rate_limit_per_minute: int = Field(
        default=600, ge=1, le=1_000_000, description="Requests a minute with the admin token"
    )
    webhook_rate_limit_per_minute: int = Field(
        default=60_000,
        ge=1,
        le=10_000_000,
        description="Provider webhook requests a minute per clinic: far above the API's, so "
        "the delivery reports of a large send are never refused",
    )
    idempotency_wait_seconds: float = Field(
        default=5,
        gt=0,
        le=60,
        description="How long a request waits for another with the same Idempotency-Key "
        "to finish (then replays its answer) before answering 409",
    )
    log_level: str = "INFO"
    secrets_keys: SecretStr | None = Field(
        default=None,
        description="Fernet keys for secrets at rest, comma-separated: the first encrypts, "
        "all decrypt. Required in production; `make run` creates a local one.",
    )
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
        if self.environment is Environment.PRODUCTION and self.secrets_keys is None:
            raise ValueError("SECRETS_KEYS must be set in production")
        if self.secrets_keys is not None:
            _check_fernet_keys(self.secrets_keys)
        return self

    @property
    def allows_private_event_urls(self) -> bool:
        if self.private_event_urls is not None:
            return self.private_event_urls
        return self.environment is not Environment.PRODUCTION

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def _check_fernet_keys(keys: SecretStr) -> None:
    parts = [part.strip() for part in keys.get_secret_value().split(",") if part.strip()]
    if not parts:
        raise ValueError("SECRETS_KEYS holds no key")
    for part in parts:
        try:
            Fernet(part)
        except ValueError:
            raise ValueError(
                "each SECRETS_KEYS key must be 32 url-safe base64-encoded bytes "
                "(python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key())')"
            ) from None


@lru_cache
def get_settings() -> Settings:
    return Settings()
