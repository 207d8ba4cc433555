from fastapi import APIRouter

from app.clinic_settings import service
from app.clinic_settings.schemas import SettingsPatch, SettingsPublic, SettingsWrite
from app.clinics.auth import CurrentClinic
from app.core.deps import ClockDep, SessionDep, SettingsDep

router = APIRouter(prefix="/v1/settings", tags=["settings"])


@router.get("")
async def get_settings(
    clinic: CurrentClinic, session: SessionDep, config: SettingsDep
) -> SettingsPublic:
    row = await service.get_clinic_settings(session, clinic.id)
    return service.to_public(
        row, webhook_secret=clinic.webhook_secret, public_base_url=config.public_base_url
    )


@router.put("")
async def replace_settings(
    body: SettingsWrite,
    clinic: CurrentClinic,
    session: SessionDep,
    clock: ClockDep,
    config: SettingsDep,
) -> SettingsPublic:
    row = await service.replace_settings(
        session, clinic_id=clinic.id, settings=body, now=clock.now()
    )
    return service.to_public(
        row, webhook_secret=clinic.webhook_secret, public_base_url=config.public_base_url
    )


@router.patch("")
async def patch_settings(
    body: SettingsPatch,
    clinic: CurrentClinic,
    session: SessionDep,
    clock: ClockDep,
    config: SettingsDep,
) -> SettingsPublic:
    row = await service.patch_settings(session, clinic_id=clinic.id, patch=body, now=clock.now())
    return service.to_public(
        row, webhook_secret=clinic.webhook_secret, public_base_url=config.public_base_url
    )
