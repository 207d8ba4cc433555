from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from app.clinics.auth import CurrentClinic
from app.core.deps import ClockDep, SessionDep
from app.core.pagination import DEFAULT_LIMIT, MAX_LIMIT
from app.outbox import service
from app.outbox.schemas import Outbox

router = APIRouter(prefix="/v1/outbox", tags=["outbox"])


@router.get("", summary="What goes out in a period")
async def list_outbox(
    clinic: CurrentClinic,
    session: SessionDep,
    clock: ClockDep,
    first: Annotated[
        date, Query(alias="from", description="The first day, on the clinic's calendar")
    ],
    last: Annotated[
        date,
        Query(
            alias="to",
            description=f"The last day (inclusive); at most {service.MAX_DAYS} days in all",
        ),
    ],
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Outbox:
    """What goes out in a period: each pending message at the time it will really go
    (pauses applied as the worker applies them), in that order, and for every local day
    of the clinic its counts, segments and cost per message type, with the totals. The
    figures cover the whole period; `data` is paginated. Messages that would expire in a
    pause before they could go are not listed: they never go."""
    return await service.outbox(
        session,
        clinic_id=clinic.id,
        period=service.Period.checked(first, last),
        now=clock.now(),
        limit=limit,
        cursor=cursor,
    )
