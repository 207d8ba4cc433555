import pytest
from pydantic import ValidationError

from app.core.config import Environment, Settings


def test_defaults_point_at_sqlite_and_local_redis(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "REDIS_URL", "ADMIN_TOKEN", "ENVIRONMENT"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.database_url == "sqlite+aiosqlite:///./data/clinic_sms.db"
    assert settings.redis_url == "redis://localhost:6379/0"
    assert settings.is_sqlite


def test_environment_variables_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://db/clinic")
    monkeypatch.setenv("LINKMOBILITY_BASE_URL", "http://link.local")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.database_url == "postgresql+asyncpg://db/clinic"
    assert settings.linkmobility_base_url == "http://link.local"
    assert not settings.is_sqlite


def test_production_refuses_the_default_admin_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ADMIN_TOKEN", raising=False)
    with pytest.raises(ValidationError, match="ADMIN_TOKEN"):
        Settings(environment=Environment.PRODUCTION, _env_file=None)  # type: ignore[call-arg]
    settings = Settings(
        environment=Environment.PRODUCTION,
        admin_token="a-long-random-secret",
        _env_file=None,  # type: ignore[call-arg]
    )
    assert settings.environment is Environment.PRODUCTION


def test_the_admin_token_is_never_printed() -> None:
    settings = Settings(admin_token="a-long-random-secret", _env_file=None)  # type: ignore[call-arg]
    assert "a-long-random-secret" not in repr(settings)
