from datetime import timedelta

from fastapi import APIRouter

from app.clinics.auth import CurrentClinic
from app.core.deps import ClockDep, SessionDep, SettingsDep
from app.sms_info import service
from app.sms_info.schemas import SmsInfo

router = APIRouter(prefix="/v1/sms-info", tags=["sms-info"])


@router.get("")
async def get_sms_info(
    clinic: CurrentClinic, session: SessionDep, clock: ClockDep, config: SettingsDep
) -> SmsInfo:
    """Counters (today, this month, total), the last exchanges with the provider, the last
    error, the worker's status and the pause rules."""
    return await service.sms_info(
        session,
        clinic_id=clinic.id,
        now=clock.now(),
        heartbeat_interval=timedelta(seconds=config.heartbeat_interval_seconds),
    )
