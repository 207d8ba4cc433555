from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from app.clinics.auth import CurrentClinic
from app.core.deps import ClockDep, SessionDep
from app.core.pagination import DEFAULT_LIMIT, MAX_LIMIT
from app.recalls import service
from app.recalls.schemas import RecallList, RecallState

router = APIRouter(prefix="/v1/recalls", tags=["recalls"])


@router.get("")
async def list_recalls(
    clinic: CurrentClinic,
    session: SessionDep,
    clock: ClockDep,
    state: Annotated[
        RecallState | None,
        Query(description="Only recalls in this state (`none` is not listed: no due date)"),
    ] = None,
    due_before: Annotated[
        date | None, Query(description="Only recalls due before this day (exclusive)")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> RecallList:
    """The patients with a recall due date, the earliest due first, with where each recall
    stands."""
    recalls, next_cursor = await service.list_recalls(
        session,
        clinic_id=clinic.id,
        state=state,
        due_before=due_before,
        limit=limit,
        cursor=cursor,
        now=clock.now(),
    )
    return RecallList(data=recalls, next_cursor=next_cursor)
