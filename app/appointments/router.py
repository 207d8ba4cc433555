from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from app.appointments import batch_items, manual, service
from app.appointments.schemas import (
    MAX_APPOINTMENT_ID_LENGTH,
    AppointmentBatch,
    AppointmentDay,
    AppointmentList,
    AppointmentPublic,
    AppointmentWrite,
    DayReminderRequest,
    DayResult,
    ReminderRequest,
    ReminderResult,
)
from app.clinics.auth import CurrentClinic
from app.core.batch import BatchResult
from app.core.deps import ClockDep, SessionDep
from app.idempotency.dependencies import OnceDep

router = APIRouter(prefix="/v1/appointments", tags=["appointments"])

AppointmentId = Annotated[
    str,
    Path(
        min_length=1,
        max_length=MAX_APPOINTMENT_ID_LENGTH,
        description="The practice system's own id for the appointment",
    ),
]


@router.post("/reminders")
async def remind_day(
    body: DayReminderRequest, clinic: CurrentClinic, session: SessionDep, clock: ClockDep
) -> DayResult:
    """Today's patients: text the day's appointments now, each with its own outcome. A
    message of the same type already made for an appointment's time is a `duplicate`."""
    return await manual.remind_day(session, clinic_id=clinic.id, request=body, now=clock.now())


@router.put(
    "",
    response_model=BatchResult,
    responses={
        status.HTTP_409_CONFLICT: {
            "description": "One of the appointments was saved by another request at the same "
            "time, or a request with this Idempotency-Key is still being handled"
        },
    },
)
async def put_appointments(
    body: AppointmentBatch,
    clinic: CurrentClinic,
    session: SessionDep,
    clock: ClockDep,
    once: OnceDep,
) -> Response:
    """Create or replace up to 1,000 appointments, each as `PUT /v1/appointments/{id}` does
    (reminders scheduled, moves re-timed, cancellations cancelled), with one outcome per
    item in order: `created`, `updated`, `unchanged`, or `error` naming the item's fields.
    A refused item stores nothing; the others are saved."""

    async def handle() -> BatchResult:
        return await batch_items.put_appointments(
            session, clinic_id=clinic.id, raw=body.appointments, now=clock.now()
        )

    return await once(body, status.HTTP_200_OK, handle)


@router.put(
    "/{appointment_id}",
    responses={
        status.HTTP_201_CREATED: {"model": AppointmentPublic, "description": "Created"},
        status.HTTP_409_CONFLICT: {"description": "Saved by another request at the same time"},
    },
)
async def put_appointment(
    appointment_id: AppointmentId,
    body: AppointmentWrite,
    clinic: CurrentClinic,
    session: SessionDep,
    clock: ClockDep,
    response: Response,
) -> AppointmentPublic:
    """Create (201) or replace (200) the appointment, and schedule its messages by the
    reminder rules: booking schedules reminders (and the booking confirmation), a new start
    time re-times them, cancelling cancels them (and sends the cancellation confirmation),
    completing schedules the thank-you. Pushing the same appointment again changes nothing."""
    now = clock.now()
    view, created = await service.upsert_appointment(
        session, clinic_id=clinic.id, appointment_id=appointment_id, data=body, now=now
    )
    if created:
        response.status_code = status.HTTP_201_CREATED
    return service.to_public(view, now)


@router.get("/{appointment_id}")
async def get_appointment(
    appointment_id: AppointmentId, clinic: CurrentClinic, session: SessionDep, clock: ClockDep
) -> AppointmentPublic:
    view = await service.get_appointment(
        session, clinic_id=clinic.id, appointment_id=appointment_id
    )
    return service.to_public(view, clock.now())


@router.get("")
async def list_appointments(
    clinic: CurrentClinic,
    session: SessionDep,
    clock: ClockDep,
    day: Annotated[
        AppointmentDay,
        Query(alias="date", description="The day (YYYY-MM-DD) in the clinic's time zone"),
    ],
    practitioner: Annotated[str | None, Query(max_length=100)] = None,
) -> AppointmentList:
    """The appointments starting that day, by start time, each with its reminder state."""
    return await service.list_day(
        session, clinic_id=clinic.id, day=day, practitioner=practitioner, now=clock.now()
    )


@router.post(
    "/{appointment_id}/reminders",
    responses={status.HTTP_409_CONFLICT: {"description": "Cancelled or already started"}},
)
async def add_reminders(
    appointment_id: AppointmentId,
    body: ReminderRequest,
    clinic: CurrentClinic,
    session: SessionDep,
    clock: ClockDep,
) -> ReminderResult:
    """Add reminders 1, 2 and/or 3 by hand, each with its own outcome."""
    outcomes = await manual.add_reminders(
        session,
        clinic_id=clinic.id,
        appointment_id=appointment_id,
        numbers=body.reminders,
        now=clock.now(),
    )
    return ReminderResult(outcomes=outcomes)
