"""Bearer authentication: the admin token for /v1/clinics, a clinic's API key elsewhere.

Each authenticated caller is also counted against its rate limit here (429 past it):
an API key against its clinic's `rate_limit_per_minute`, the admin token against
`ADMIN_RATE_LIMIT_PER_MINUTE`.
"""

import hmac
from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.clinics.models import Clinic
from app.clinics.service import holder_of_key
from app.core.deps import RateLimiterDep, SessionDep, SettingsDep
from app.core.errors import Forbidden, Unauthorized

_bearer_scheme = HTTPBearer(auto_error=False, description="A clinic API key, or the admin token")
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer_scheme)]

ADMIN_CALLER = "admin"


def _token(credentials: HTTPAuthorizationCredentials | None) -> str:
    if credentials is None or not credentials.credentials:
        raise Unauthorized("Send `Authorization: Bearer <key>`.")
    return credentials.credentials


async def require_clinic(
    credentials: BearerDep,
    session: SessionDep,
    settings: SettingsDep,
    limiter: RateLimiterDep,
) -> Clinic:
    holder = await holder_of_key(session, _token(credentials))
    if holder is None:
        raise Unauthorized("The API key is unknown or revoked.")
    per_minute = holder.rate_limit_per_minute or settings.rate_limit_per_minute
    await limiter.check(f"key:{holder.api_key_id}", per_minute)
    return holder.clinic


async def require_admin(
    credentials: BearerDep,
    session: SessionDep,
    settings: SettingsDep,
    limiter: RateLimiterDep,
) -> None:
    token = _token(credentials)
    if hmac.compare_digest(token.encode(), settings.admin_token.get_secret_value().encode()):
        await limiter.check(ADMIN_CALLER, settings.admin_rate_limit_per_minute)
        return
    if await holder_of_key(session, token) is not None:
        raise Forbidden("Clinic API keys cannot use the admin paths.")
    raise Unauthorized("The admin token is wrong.")


CurrentClinic = Annotated[Clinic, Depends(require_clinic)]
AdminAuth = Depends(require_admin)
