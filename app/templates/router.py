from typing import Annotated

from fastapi import APIRouter, Path

from app.clinics.auth import CurrentClinic
from app.core.deps import ClockDep, SessionDep
from app.templates import service
from app.templates.defaults import TemplateType
from app.templates.schemas import (
    PreviewRequest,
    TemplateList,
    TemplatePreview,
    TemplatePublic,
    TemplateWrite,
)

router = APIRouter(prefix="/v1/templates", tags=["templates"])

TypeParam = Annotated[TemplateType, Path(alias="type", description="The template type")]


@router.get("")
async def list_templates(
    clinic: CurrentClinic, session: SessionDep, clock: ClockDep
) -> TemplateList:
    """All twelve template types, each analysed as rendered with sample values."""
    return await service.public_list(session, clinic_id=clinic.id, now=clock.now())


@router.get("/{type}")
async def get_template(
    template_type: TypeParam, clinic: CurrentClinic, session: SessionDep, clock: ClockDep
) -> TemplatePublic:
    row = await service.get_template(
        session, clinic_id=clinic.id, template_type=template_type, now=clock.now()
    )
    return await service.public_template(session, clinic_id=clinic.id, row=row)


@router.put("/{type}")
async def update_template(
    template_type: TypeParam,
    body: TemplateWrite,
    clinic: CurrentClinic,
    session: SessionDep,
    clock: ClockDep,
) -> TemplatePublic:
    """Save a text. One that may exceed the clinic's `max_segments` with long values is
    saved, and the response carries a `may_exceed_max_segments` warning."""
    row = await service.update_template(
        session,
        clinic_id=clinic.id,
        template_type=template_type,
        text=body.text,
        allow_reply=body.allow_reply,
        now=clock.now(),
    )
    return await service.public_template(session, clinic_id=clinic.id, row=row)


@router.post("/{type}/reset")
async def reset_template(
    template_type: TypeParam, clinic: CurrentClinic, session: SessionDep, clock: ClockDep
) -> TemplatePublic:
    """Restore our default text and `allow_reply` for this type."""
    row = await service.reset_template(
        session, clinic_id=clinic.id, template_type=template_type, now=clock.now()
    )
    return await service.public_template(session, clinic_id=clinic.id, row=row)


@router.post("/{type}/preview")
async def preview_template(
    template_type: TypeParam,
    clinic: CurrentClinic,
    session: SessionDep,
    clock: ClockDep,
    body: PreviewRequest | None = None,
) -> TemplatePreview:
    """Render the saved text, or an unsaved `text`, with sample values, overridden by a real
    patient's names (`patient_no`) and an appointment's time, practitioner and patient
    (`appointment_id`), and those by `values`. Over the clinic's `max_segments` is still 200,
    with `analysis.exceeds_max_segments: true`."""
    body = body or PreviewRequest()
    return await service.preview_template(
        session,
        clinic_id=clinic.id,
        template_type=template_type,
        text=body.text,
        values=body.values,
        now=clock.now(),
        patient_no=body.patient_no,
        appointment_id=body.appointment_id,
    )
