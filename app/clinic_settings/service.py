import uuid
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from app.clinic_settings.credentials import ProviderCredentials
from app.clinic_settings.models import ClinicSettings
from app.clinic_settings.schemas import (
    PauseRules,
    ProviderName,
    SettingsFields,
    SettingsPatch,
    SettingsPublic,
    SettingsWrite,
    WebhookSetup,
    WebhookUrls,
)
from app.clinic_settings.webhook_setup import SETUPS
from app.core.errors import InvalidInput, NotFound, invalid_input_from
from app.messages import window
from app.messages.retiming import retime_pending
from app.providers.credentials import missing_for
from app.reminder_rules import readiness

_FLAT_FIELDS = tuple(name for name in SettingsFields.model_fields if name != "pause_rules")


async def create_default_settings(session: AsyncSession, *, clinic_id: uuid.UUID) -> None:
    session.add(ClinicSettings(clinic_id=clinic_id))
    await session.flush()


async def get_clinic_settings(session: AsyncSession, clinic_id: uuid.UUID) -> ClinicSettings:
    row = await session.get(ClinicSettings, clinic_id)
    if row is None:
        raise NotFound("This clinic has no settings.")
    return row


def pause_rules_of(row: ClinicSettings) -> PauseRules:
    return PauseRules(
        saturday=row.pause_saturday,
        sunday=row.pause_sunday,
        night_start=row.night_start,
        night_end=row.night_end,
    )


def send_window_rules(row: ClinicSettings) -> window.PauseRules:
    return window.PauseRules(
        saturday=row.pause_saturday,
        sunday=row.pause_sunday,
        night_start=row.night_start,
        night_end=row.night_end,
    )


def webhook_urls(public_base_url: str, provider: str, webhook_secret: str) -> WebhookUrls:
    base = f"{public_base_url.rstrip('/')}/v1/webhooks/{provider}/{webhook_secret}"
    return WebhookUrls(delivery=f"{base}/delivery", inbound=f"{base}/inbound")


def webhook_setup(provider: str) -> WebhookSetup | None:
    setup = SETUPS.get(provider)
    return WebhookSetup(formats=list(setup.formats), steps=setup.steps) if setup else None


def _current_fields(row: ClinicSettings) -> dict[str, Any]:
    fields = {name: getattr(row, name) for name in _FLAT_FIELDS}
    fields["pause_rules"] = pause_rules_of(row).model_dump()
    return fields


def to_public(row: ClinicSettings, *, webhook_secret: str, public_base_url: str) -> SettingsPublic:
    credentials_set = {
        provider: sorted(
            name for name, value in row.provider_credentials.get(provider, {}).items() if value
        )
        for provider in ProviderName
        if provider is not ProviderName.SANDBOX
    }
    return SettingsPublic(
        **_current_fields(row),
        credentials_set=credentials_set,
        webhook_urls=None
        if row.provider == ProviderName.SANDBOX
        else webhook_urls(public_base_url, row.provider, webhook_secret),
        webhook_setup=webhook_setup(row.provider),
        secondary_webhook_urls=None
        if row.secondary_provider is None
        else webhook_urls(public_base_url, row.secondary_provider, webhook_secret),
    )


def _merged_credentials(
    stored: dict[str, Any], changes: ProviderCredentials | None
) -> dict[str, Any]:
    merged = {provider: dict(fields) for provider, fields in stored.items()}
    if changes is None:
        return merged
    for provider, fields in changes.model_dump(exclude_unset=True).items():
        target = merged.setdefault(provider, {})
        for name, value in (fields or {}).items():
            if value is None:
                target.pop(name, None)
            else:
                target[name] = value
    return merged


def _check_secondary_credentials(secondary: str | None, credentials: dict[str, Any]) -> None:
    """A secondary that could only refuse would fail the messages it takes over."""
    missing = missing_for(secondary, credentials) if secondary else []
    if missing:
        raise InvalidInput.for_field(
            "secondary_provider",
            f"set its credentials first (provider_credentials.{secondary}): {', '.join(missing)}",
            "credentials_incomplete",
        )


def _apply(row: ClinicSettings, settings: SettingsWrite, now: datetime) -> None:
    credentials = _merged_credentials(row.provider_credentials, settings.provider_credentials)
    _check_secondary_credentials(settings.secondary_provider, credentials)
    for name in _FLAT_FIELDS:
        setattr(row, name, getattr(settings, name))
    row.pause_saturday = settings.pause_rules.saturday
    row.pause_sunday = settings.pause_rules.sunday
    row.night_start = settings.pause_rules.night_start
    row.night_end = settings.pause_rules.night_end
    row.provider_credentials = credentials
    row.updated_at = now


def _send_window(row: ClinicSettings) -> tuple[window.PauseRules, str]:
    return send_window_rules(row), row.time_zone


async def _save(
    session: AsyncSession, row: ClinicSettings, settings: SettingsWrite, now: datetime
) -> ClinicSettings:
    """Apply the settings; a new send window re-times the messages still waiting. Refused
    (422) when an enabled rule's template would lose a value it needs (business_phone)."""
    ready = await readiness.current(session, row.clinic_id, row.business_phone, now)
    readiness.require_ready(
        ready.rules,
        ready.texts,
        business_phone=settings.business_phone,
        change="settings",
        before=ready.gaps,
    )
    before = _send_window(row)
    _apply(row, settings, now)
    if (after := _send_window(row)) != before:
        rules, tz = after
        await retime_pending(
            session, clinic_id=row.clinic_id, rules=rules, tz=ZoneInfo(tz), now=now
        )
    return row


async def replace_settings(
    session: AsyncSession, *, clinic_id: uuid.UUID, settings: SettingsWrite, now: datetime
) -> ClinicSettings:
    row = await get_clinic_settings(session, clinic_id)
    return await _save(session, row, settings, now)


async def patch_settings(
    session: AsyncSession, *, clinic_id: uuid.UUID, patch: SettingsPatch, now: datetime
) -> ClinicSettings:
    row = await get_clinic_settings(session, clinic_id)
    changes = patch.model_dump(exclude_unset=True)
    merged = _current_fields(row)
    if "pause_rules" in changes:
        pause_changes = changes.pop("pause_rules")
        if pause_changes is None:
            raise InvalidInput.for_field("pause_rules", "cannot be null", "null")
        merged["pause_rules"] = {**merged["pause_rules"], **pause_changes}
    merged |= changes
    try:
        settings = SettingsWrite.model_validate(merged)
    except ValidationError as exc:
        raise invalid_input_from(exc) from exc
    return await _save(session, row, settings, now)
