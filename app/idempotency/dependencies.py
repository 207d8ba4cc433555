"""The `Idempotency-Key` header as one dependency: a route hands its body, status and
handler to `Once`, which runs it once per key with the settings' TTL and wait."""

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from app.clinics.auth import CurrentClinic
from app.core.deps import ClockDep, SessionDep, SettingsDep
from app.idempotency.service import request_fingerprint, run_once

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=200,
        description="Repeat a POST safely: the same key and body replay the first answer",
    ),
]


@dataclass(frozen=True)
class Once:
    session: AsyncSession
    clinic_id: uuid.UUID
    key: str | None
    path: str
    now: datetime
    ttl: timedelta
    wait_seconds: float

    async def __call__(
        self, body: BaseModel, status_code: int, handler: Callable[[], Awaitable[BaseModel]]
    ) -> Response:
        return await run_once(
            self.session,
            clinic_id=self.clinic_id,
            key=self.key,
            fingerprint=request_fingerprint(self.path, body),
            status_code=status_code,
            now=self.now,
            ttl=self.ttl,
            handler=handler,
            wait_seconds=self.wait_seconds,
        )


async def once(
    request: Request,
    clinic: CurrentClinic,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    idempotency_key: IdempotencyKey = None,
) -> Once:
    return Once(
        session=session,
        clinic_id=clinic.id,
        key=idempotency_key,
        path=request.url.path,
        now=clock.now(),
        ttl=timedelta(hours=settings.idempotency_ttl_hours),
        wait_seconds=settings.idempotency_wait_seconds,
    )


OnceDep = Annotated[Once, Depends(once)]
