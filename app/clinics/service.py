import hashlib
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam
from sqlalchemy import select as core_select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.clinic_settings.models import clinic_settings_table
from app.clinic_settings.service import create_default_settings
from app.clinics.models import ApiKey, Clinic
from app.core.errors import NotFound
from app.core.models import as_loaded, table_of
from app.templates.service import create_default_templates

KEY_PREFIX = "csk_"


def hash_api_key(key: str) -> str:
    # Keys carry 256 random bits, so a fast hash is as safe here as a slow one.
    return hashlib.sha256(key.encode()).hexdigest()


def generate_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


async def create_clinic(session: AsyncSession, *, name: str) -> Clinic:
    clinic = Clinic(name=name, webhook_secret=secrets.token_urlsafe(24))
    session.add(clinic)
    await session.flush()
    await create_default_settings(session, clinic_id=clinic.id)
    await create_default_templates(session, clinic_id=clinic.id, now=clinic.created_at)
    return clinic


async def list_clinics(session: AsyncSession) -> Sequence[Clinic]:
    result = await session.execute(select(Clinic).order_by(col(Clinic.created_at), col(Clinic.id)))
    return result.scalars().all()


async def get_clinic(session: AsyncSession, clinic_id: uuid.UUID) -> Clinic:
    clinic = await session.get(Clinic, clinic_id)
    if clinic is None:
        raise NotFound("No clinic with this id.")
    return clinic


async def create_api_key(
    session: AsyncSession, *, clinic_id: uuid.UUID, name: str
) -> tuple[ApiKey, str]:
    await get_clinic(session, clinic_id)
    key = generate_api_key()
    api_key = ApiKey(clinic_id=clinic_id, name=name, prefix=key[:10], key_hash=hash_api_key(key))
    session.add(api_key)
    await session.flush()
    return api_key, key


async def revoke_api_key(
    session: AsyncSession, *, clinic_id: uuid.UUID, key_id: uuid.UUID, now: datetime
) -> ApiKey:
    api_key = await session.get(ApiKey, key_id)
    if api_key is None or api_key.clinic_id != clinic_id:
        raise NotFound("No API key with this id for this clinic.")
    if api_key.revoked_at is None:
        api_key.revoked_at = now
    return api_key


@dataclass(frozen=True, slots=True)
class KeyHolder:
    clinic: Clinic
    api_key_id: uuid.UUID
    rate_limit_per_minute: int | None  # the clinic's own; None: the service's default


_clinic = table_of(Clinic).c
_key = table_of(ApiKey).c
# Every authenticated request runs this: one Core statement, built once, on the request's
# connection (no ORM loading). A revoked key matches no row.
_HOLDER = (
    core_select(
        _clinic.id,
        _clinic.name,
        _clinic.webhook_secret,
        _clinic.created_at,
        _key.id.label("api_key_id"),
        clinic_settings_table.c.rate_limit_per_minute,
    )
    .join_from(table_of(ApiKey), table_of(Clinic), _key.clinic_id == _clinic.id)
    .outerjoin(clinic_settings_table, clinic_settings_table.c.clinic_id == _clinic.id)
    .where(_key.key_hash == bindparam("key_hash"), _key.revoked_at.is_(None))
)


async def holder_of_key(session: AsyncSession, key: str) -> KeyHolder | None:
    connection = await session.connection()
    found = await connection.execute(_HOLDER, {"key_hash": hash_api_key(key)})
    row = found.one_or_none()
    if row is None:
        return None
    clinic = as_loaded(
        Clinic,
        {
            "id": row.id,
            "name": row.name,
            "webhook_secret": row.webhook_secret,
            "created_at": row.created_at,
        },
    )
    return KeyHolder(clinic, row.api_key_id, row.rate_limit_per_minute)
