import uuid

from fastapi import APIRouter, status

from app.clinics import service
from app.clinics.auth import AdminAuth
from app.clinics.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyPublic,
    ClinicCreate,
    ClinicList,
    ClinicPublic,
)
from app.core.deps import ClockDep, SessionDep

router = APIRouter(prefix="/v1/clinics", tags=["admin"], dependencies=[AdminAuth])


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_clinic(body: ClinicCreate, session: SessionDep) -> ClinicPublic:
    clinic = await service.create_clinic(session, name=body.name)
    return ClinicPublic.model_validate(clinic, from_attributes=True)


@router.get("")
async def list_clinics(session: SessionDep) -> ClinicList:
    clinics = await service.list_clinics(session)
    return ClinicList(data=[ClinicPublic.model_validate(c, from_attributes=True) for c in clinics])


@router.post("/{clinic_id}/api-keys", status_code=status.HTTP_201_CREATED)
async def create_api_key(
    clinic_id: uuid.UUID, session: SessionDep, body: ApiKeyCreate | None = None
) -> ApiKeyCreated:
    api_key, key = await service.create_api_key(
        session, clinic_id=clinic_id, name=(body or ApiKeyCreate()).name
    )
    return ApiKeyCreated(**api_key.model_dump(), key=key)


@router.delete("/{clinic_id}/api-keys/{key_id}")
async def revoke_api_key(
    clinic_id: uuid.UUID, key_id: uuid.UUID, session: SessionDep, clock: ClockDep
) -> ApiKeyPublic:
    api_key = await service.revoke_api_key(
        session, clinic_id=clinic_id, key_id=key_id, now=clock.now()
    )
    return ApiKeyPublic.model_validate(api_key, from_attributes=True)
