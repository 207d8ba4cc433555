"""A query parameter the route does not declare is refused before anything happens."""

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.messages.models import Message
from tests.conftest import ClinicAccess


async def test_an_unknown_parameter_is_422_naming_it_and_nothing_is_sent(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    response = await client.post(
        "/v1/messages?preview=true&limit=5&zz=1",
        headers=clinic.headers,
        json={"to": "+4791234567", "text": "Hei"},
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    fields = [error["field"] for error in response.json()["errors"]]
    assert fields == ["query.limit", "query.preview", "query.zz"]
    async with sessionmaker() as session:
        assert (await session.execute(select(func.count()).select_from(Message))).scalar() == 0


async def test_declared_parameters_still_work(
    client: httpx.AsyncClient, clinic: ClinicAccess
) -> None:
    response = await client.get("/v1/messages?limit=5", headers=clinic.headers)
    assert response.status_code == 200, response.text
    response = await client.get("/v1/messages?limit=5&sort=up", headers=clinic.headers)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["query.sort"]
