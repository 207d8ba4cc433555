"""Pick and build the adapter a clinic's settings ask for."""

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta

import httpx

from app.clinic_settings.models import ClinicSettings
from app.clinic_settings.schemas import ProviderName
from app.clinic_settings.service import webhook_urls
from app.core.config import Environment, Settings
from app.metrics import MeasuredProvider
from app.providers.base import (
    Failed,
    FailureKind,
    OutboundSms,
    SenderKind,
    SendResult,
    SmsProvider,
)
from app.providers.capabilities import TextCapability
from app.providers.credentials import missing_for
from app.providers.linkmobility import LinkMobilityProvider
from app.providers.sandbox import ReportSink, SandboxProvider
from app.providers.sinch import SinchProvider
from app.providers.twilio import TwilioProvider

SANDBOX_SENDER = "Sandbox"

TEXT_CAPABILITIES: Mapping[ProviderName, TextCapability] = {
    ProviderName.SANDBOX: SandboxProvider.text_capability,
    ProviderName.LINKMOBILITY: LinkMobilityProvider.text_capability,
    ProviderName.SINCH: SinchProvider.text_capability,
    ProviderName.TWILIO: TwilioProvider.text_capability,
}


def text_capability_for(settings: ClinicSettings) -> tuple[ProviderName, TextCapability]:
    """What text every provider that may send the clinic's messages can carry, and the
    provider that limits it: with a secondary, a message may go through either."""
    providers = [ProviderName(settings.provider)]
    if settings.secondary_provider is not None:
        providers.append(ProviderName(settings.secondary_provider))
    narrowest = min(providers, key=lambda name: TEXT_CAPABILITIES[name].last_code_point)
    return narrowest, TEXT_CAPABILITIES[narrowest]


def sender_for(settings: ClinicSettings, allow_reply: bool) -> tuple[str, SenderKind] | None:
    """Reply-able SMS go from the reply number; others from the sender name (or the number)."""
    if allow_reply and settings.reply_number:
        return settings.reply_number, SenderKind.NUMBER
    if settings.sender_name:
        return settings.sender_name, SenderKind.ALPHANUMERIC
    if settings.reply_number:
        return settings.reply_number, SenderKind.NUMBER
    if settings.provider == ProviderName.SANDBOX:
        return SANDBOX_SENDER, SenderKind.ALPHANUMERIC
    return None


class NoProvider:
    """Production never fakes delivery: a clinic still on the sandbox sends nothing and
    every message fails with a reason staff can act on."""

    name = "none"
    max_batch_size = 1000
    refusal = Failed(
        FailureKind.PERMANENT, "no SMS provider is configured for this clinic (settings)"
    )

    async def send_batch(self, messages: Sequence[OutboundSms]) -> list[SendResult]:
        return [self.refusal] * len(messages)


class ProviderFactory:
    """Builds adapters sharing one pooled HTTP client; one factory per worker process."""

    def __init__(
        self,
        config: Settings,
        http: httpx.AsyncClient,
        report_sink: ReportSink,
        now: Callable[[], datetime],
    ) -> None:
        self._config = config
        self._http = http
        self._report_sink = report_sink
        self._now = now

    def build(self, settings: ClinicSettings, webhook_secret: str) -> SmsProvider:
        return MeasuredProvider(self._adapter(settings, settings.provider, webhook_secret))

    def build_secondary(self, settings: ClinicSettings, webhook_secret: str) -> SmsProvider | None:
        """The clinic's secondary provider, when it has one with every credential set: a
        failover to one that can only refuse would fail messages the primary would retry."""
        name = settings.secondary_provider
        if name is None or missing_for(name, settings.provider_credentials):
            return None
        return MeasuredProvider(self._adapter(settings, name, webhook_secret))

    def _adapter(self, settings: ClinicSettings, provider: str, webhook_secret: str) -> SmsProvider:
        credentials = settings.provider_credentials.get(provider, {})
        delivery_url = webhook_urls(self._config.public_base_url, provider, webhook_secret).delivery
        match provider:
            case ProviderName.LINKMOBILITY:
                return LinkMobilityProvider(
                    self._http,
                    self._config.linkmobility_base_url,
                    credentials,
                    clock=self._now,
                )
            case ProviderName.SINCH:
                return SinchProvider(
                    self._http,
                    self._config.sinch_base_url,
                    credentials,
                    delivery_url,
                    clock=self._now,
                )
            case ProviderName.TWILIO:
                return TwilioProvider(
                    self._http,
                    self._config.twilio_base_url,
                    credentials,
                    delivery_url,
                    clock=self._now,
                )
            case _ if self._config.environment is Environment.PRODUCTION:
                return NoProvider()
            case _:
                return SandboxProvider(
                    self._report_sink,
                    self._now,
                    timedelta(seconds=self._config.sandbox_slow_delivery_seconds),
                )
