"""Bearer authentication: the admin token for /v1/clinics, a clinic's API key elsewhere."""

import hmac
from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.clinics.models import Clinic
from app.clinics.service import clinic_for_key
from app.core.deps import SessionDep, SettingsDep
from app.core.errors import Forbidden, Unauthorized

_bearer_scheme = HTTPBearer(auto_error=False, description="A clinic API key, or the admin token")
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer_scheme)]


def _token(credentials: HTTPAuthorizationCredentials | None) -> str:
    if credentials is None or not credentials.credentials:
        raise Unauthorized("Send `Authorization: Bearer <key>`.")
    return credentials.credentials


async def require_clinic(credentials: BearerDep, session: SessionDep) -> Clinic:
    clinic = await clinic_for_key(session, _token(credentials))
    if clinic is None:
        raise Unauthorized("The API key is unknown or revoked.")
    return clinic


async def require_admin(credentials: BearerDep, session: SessionDep, settings: SettingsDep) -> None:
    token = _token(credentials)
    if hmac.compare_digest(token.encode(), settings.admin_token.get_secret_value().encode()):
        return
    if await clinic_for_key(session, token) is not None:
        raise Forbidden("Clinic API keys cannot use the admin paths.")
    raise Unauthorized("The admin token is wrong.")


CurrentClinic = Annotated[Clinic, Depends(require_clinic)]
AdminAuth = Depends(require_admin)
