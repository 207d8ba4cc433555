from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from app.clinics.auth import CurrentClinic
from app.core.batch import BatchResult
from app.core.deps import ClockDep, SessionDep
from app.core.pagination import MAX_CURSOR_LENGTH
from app.idempotency.dependencies import OnceDep
from app.patients import batch, erasure, followups, service
from app.patients.schemas import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    MAX_PATIENT_NO_LENGTH,
    PatientBatch,
    PatientDetail,
    PatientList,
    PatientPublic,
    PatientWrite,
)
from app.recalls import service as recalls_service

router = APIRouter(prefix="/v1/patients", tags=["patients"])

PatientNo = Annotated[
    str,
    Path(
        min_length=1,
        max_length=MAX_PATIENT_NO_LENGTH,
        description="The practice system's patient number",
    ),
]


@router.put(
    "",
    response_model=BatchResult,
    responses={
        status.HTTP_409_CONFLICT: {
            "description": "One of the patients was saved by another request at the same "
            "time, or a request with this Idempotency-Key is still being handled"
        },
    },
)
async def put_patients(
    body: PatientBatch,
    clinic: CurrentClinic,
    session: SessionDep,
    clock: ClockDep,
    once: OnceDep,
) -> Response:
    """Create or replace up to 1,000 patients, each as `PUT /v1/patients/{patient_no}` does,
    with one outcome per item in order: `created`, `updated`, `unchanged`, or `error` naming
    the item's fields. A refused item stores nothing; the others are saved."""

    async def handle() -> BatchResult:
        return await batch.put_patients(
            session, clinic_id=clinic.id, raw=body.patients, now=clock.now()
        )

    return await once(body, status.HTTP_200_OK, handle)


@router.put(
    "/{patient_no}",
    responses={
        status.HTTP_201_CREATED: {"model": PatientPublic, "description": "Created"},
        status.HTTP_409_CONFLICT: {"description": "Saved by another request at the same time"},
    },
)
async def put_patient(
    patient_no: PatientNo,
    body: PatientWrite,
    clinic: CurrentClinic,
    session: SessionDep,
    clock: ClockDep,
    response: Response,
) -> PatientPublic:
    """Create (201) or replace (200) the patient with this number."""
    patient, created = await followups.save_patient(
        session, clinic_id=clinic.id, patient_no=patient_no, data=body, now=clock.now()
    )
    if created:
        response.status_code = status.HTTP_201_CREATED
    return service.to_public(patient)


@router.get("/{patient_no}")
async def get_patient(
    patient_no: PatientNo, clinic: CurrentClinic, session: SessionDep, clock: ClockDep
) -> PatientDetail:
    """The patient, with where their recall stands."""
    patient = await service.get_patient(session, clinic_id=clinic.id, patient_no=patient_no)
    recall = await recalls_service.patient_status(
        session, clinic_id=clinic.id, patient_id=patient.id, now=clock.now()
    )
    return service.to_detail(patient, recall)


@router.get("")
async def list_patients(
    clinic: CurrentClinic,
    session: SessionDep,
    q: Annotated[
        str | None,
        Query(
            max_length=200,
            description=(
                "Words that must all occur in the name or patient number (case-insensitive), "
                "or a phone number (national, +47… or 0047…; part of a number also matches)"
            ),
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    cursor: Annotated[
        str | None,
        Query(max_length=MAX_CURSOR_LENGTH, description="`next_cursor` of the previous page"),
    ] = None,
) -> PatientList:
    """The clinic's patients ordered by patient number."""
    patients, next_cursor = await service.list_patients(
        session, clinic_id=clinic.id, query=q, limit=limit, cursor=cursor
    )
    return PatientList(data=[service.to_public(p) for p in patients], next_cursor=next_cursor)


@router.delete("/{patient_no}", status_code=status.HTTP_204_NO_CONTENT)
async def erase_patient(
    patient_no: PatientNo, clinic: CurrentClinic, session: SessionDep, clock: ClockDep
) -> None:
    """Delete the patient and erase their name, number and texts from their messages."""
    await erasure.erase_patient(
        session, clinic_id=clinic.id, patient_no=patient_no, now=clock.now()
    )
