from datetime import UTC, datetime, timedelta

import httpx
import pytest

from app.clinic_settings.models import ClinicSettings
from app.core.config import Environment, Settings
from app.deliveries.service import DeliveryReport
from app.metrics import MeasuredProvider
from app.providers.base import Failed, FailureKind, OutboundSms, SenderKind
from app.providers.linkmobility import LinkMobilityProvider
from app.providers.registry import ProviderFactory
from app.providers.sandbox import SandboxProvider


async def _no_reports(_reports: list[DeliveryReport]) -> None:
    return None


def _factory(environment: Environment, http: httpx.AsyncClient) -> ProviderFactory:
    config = Settings(environment=environment, admin_token="a-long-admin-token", _env_file=None)  # type: ignore[call-arg]
    return ProviderFactory(config, http, _no_reports, lambda: datetime.now(UTC))


@pytest.mark.parametrize(
    ("provider", "expected"),
    [("sandbox", SandboxProvider), ("linkmobility", LinkMobilityProvider)],
)
async def test_the_clinics_provider_is_built(provider: str, expected: type) -> None:
    async with httpx.AsyncClient() as http:
        built = _factory(Environment.DEVELOPMENT, http).build(
            ClinicSettings(provider=provider), "secret"
        )
    assert isinstance(built, MeasuredProvider), "every adapter's calls are counted"
    assert isinstance(built.adapter, expected)


async def test_production_never_fakes_delivery_with_the_sandbox() -> None:
    sms = OutboundSms(
        "id-1",
        "+4791234567",
        "Hei",
        "Klinikk",
        SenderKind.ALPHANUMERIC,
        datetime.now(UTC) + timedelta(hours=1),
    )
    async with httpx.AsyncClient() as http:
        provider = _factory(Environment.PRODUCTION, http).build(
            ClinicSettings(provider="sandbox"), "secret"
        )
        [result] = await provider.send_batch([sms])
    assert isinstance(result, Failed)
    assert result.kind is FailureKind.PERMANENT
    assert "no SMS provider" in result.reason
