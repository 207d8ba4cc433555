from fastapi import APIRouter

from app.clinics.auth import CurrentClinic
from app.core.deps import ClockDep, SessionDep
from app.reminder_rules import service, stored
from app.reminder_rules.schemas import ReminderRulesPublic, ReminderRulesWrite

router = APIRouter(prefix="/v1/reminder-rules", tags=["reminder rules"])


@router.get("")
async def get_rules(clinic: CurrentClinic, session: SessionDep) -> ReminderRulesPublic:
    """When reminders, confirmations and thank-you messages go for this clinic's appointments."""
    return service.to_public(await stored.get_rules(session, clinic.id))


@router.put("")
async def replace_rules(
    body: ReminderRulesWrite, clinic: CurrentClinic, session: SessionDep, clock: ClockDep
) -> ReminderRulesPublic:
    """Replace the rules. They apply to appointments pushed from now on; messages already
    scheduled keep their times. Recalls whose messages are not yet made follow the new
    recall rule. A rule switched on whose template needs a value its messages would not
    have (e.g. [Businessphone] while the clinic has no business_phone) is a 422 naming the
    value."""
    row = await service.replace_rules(session, clinic_id=clinic.id, data=body, now=clock.now())
    return service.to_public(row)
