"""GET /v1/messages: status by our word or the seed's code (V, S, SB, F, A), and time ranges
on when a message was made, will go and went."""

import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from app.core.clock import FixedClock
from app.messages.listing import StatusFilter, statuses_of
from app.messages.models import Message, MessageStatus
from tests.conftest import ClinicAccess

Json = dict[str, Any]
HOUR = timedelta(hours=1)


async def _listed(client: httpx.AsyncClient, clinic: ClinicAccess, **params: Any) -> list[str]:
    response = await client.get(
        "/v1/messages", headers=clinic.headers, params={"limit": 100} | params
    )
    assert response.status_code == 200, response.text
    return sorted(message["text"] for message in response.json()["data"])


async def _post(
    client: httpx.AsyncClient, clinic: ClinicAccess, text: str, **body: Any
) -> uuid.UUID:
    response = await client.post(
        "/v1/messages", headers=clinic.headers, json={"to": "+4791234567", "text": text} | body
    )
    assert response.status_code == 201, response.text
    return uuid.UUID(response.json()["data"][0]["id"])


@pytest.fixture
async def one_of_each(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
) -> datetime:
    """One message per status, sent an hour apart (made before they went); returns when
    the first was sent."""
    now = clock.now()
    made = now - 4 * HOUR
    ids = {
        text: await _post(client, clinic, text)
        for text in ("venter", "sender", "sendt", "besvart", "feil", "avlyst")
    }
    later = await _post(client, clinic, "i morgen", send_after=(now + 24 * HOUR).isoformat())
    ids["i morgen"] = later
    changes: dict[str, Json] = {
        "sender": {"status": MessageStatus.SENDING},
        "sendt": {"status": MessageStatus.SENT, "sent_at": now - 3 * HOUR, "created_at": made},
        "besvart": {
            "status": MessageStatus.ANSWERED,
            "sent_at": now - 2 * HOUR,
            "created_at": made,
        },
        "feil": {"status": MessageStatus.FAILED},
        "avlyst": {"status": MessageStatus.CANCELLED},
    }
    async with sessionmaker.begin() as session:
        for text, values in changes.items():
            await session.execute(
                update(Message).where(col(Message.id) == ids[text]).values(**values)
            )
    return now - 3 * HOUR


class TestStatus:
    @pytest.mark.parametrize(
        ("status", "texts"),
        [
            (["V"], ["i morgen", "sender", "venter"]),
            (["S"], ["sendt"]),
            (["SB"], ["besvart"]),
            (["F"], ["feil"]),
            (["A"], ["avlyst"]),
            (["pending"], ["i morgen", "venter"]),
            (["S", "SB"], ["besvart", "sendt"]),
            (["A", "cancelled"], ["avlyst"]),
            (["F", "answered"], ["besvart", "feil"]),
        ],
    )
    async def test_by_word_or_code(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        one_of_each: datetime,
        status: list[str],
        texts: list[str],
    ) -> None:
        assert await _listed(client, clinic, status=status) == texts

    @pytest.mark.parametrize("status", ["X", "v", "sb", "ja"])
    async def test_anything_else_is_422_naming_the_parameter(
        self, client: httpx.AsyncClient, clinic: ClinicAccess, status: str
    ) -> None:
        response = await client.get(
            "/v1/messages", headers=clinic.headers, params={"status": status}
        )
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == "status.0"

    def test_every_code_stands_for_its_statuses(self) -> None:
        assert statuses_of([StatusFilter.V]) == [MessageStatus.PENDING, MessageStatus.SENDING]
        assert statuses_of([StatusFilter.SB, StatusFilter.ANSWERED]) == [MessageStatus.ANSWERED]


class TestTimeRanges:
    async def test_sent_at(
        self, client: httpx.AsyncClient, clinic: ClinicAccess, one_of_each: datetime
    ) -> None:
        first = one_of_each
        assert await _listed(client, clinic, sent_from=first.isoformat()) == ["besvart", "sendt"]
        since_second = (first + HOUR).isoformat()
        assert await _listed(client, clinic, sent_from=since_second) == ["besvart"]
        assert await _listed(client, clinic, sent_to=since_second) == ["sendt"]
        assert await _listed(client, clinic, sent_to=first.isoformat()) == []

    async def test_sent_before_finds_one_whose_host_clock_was_behind(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: FixedClock,
    ) -> None:
        """The worker's clock a few minutes behind the API's: sent_at before created_at."""
        made = clock.now()
        sent = await _post(client, clinic, "sendt")
        values = {"status": MessageStatus.SENT, "sent_at": made - timedelta(minutes=5)}
        async with sessionmaker.begin() as session:
            await session.execute(update(Message).where(col(Message.id) == sent).values(**values))
        assert await _listed(client, clinic, sent_to=(made - timedelta(minutes=1)).isoformat()) == [
            "sendt"
        ]

    async def test_scheduled_for_is_a_pending_messages(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        one_of_each: datetime,
        clock: FixedClock,
    ) -> None:
        now = clock.now()
        tomorrow = {"scheduled_from": (now + HOUR).isoformat()}
        assert await _listed(client, clinic, **tomorrow) == ["i morgen"]
        today = {"scheduled_from": now.isoformat(), "scheduled_to": (now + HOUR).isoformat()}
        assert await _listed(client, clinic, **today) == ["venter"]

    async def test_created_at_still_works(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        one_of_each: datetime,
        clock: FixedClock,
    ) -> None:
        clock.advance(seconds=10)
        await _post(client, clinic, "senere")
        since = (clock.now() - timedelta(seconds=1)).isoformat()
        assert await _listed(client, clinic, created_from=since) == ["senere"]
        assert len(await _listed(client, clinic, created_to=since)) == 7

    @pytest.mark.parametrize("name", ["created", "scheduled", "sent"])
    async def test_an_end_before_its_start_is_422(
        self, client: httpx.AsyncClient, clinic: ClinicAccess, name: str
    ) -> None:
        params = {f"{name}_from": "2026-12-02T10:00:00Z", f"{name}_to": "2026-12-02T10:00:00Z"}
        response = await client.get("/v1/messages", headers=clinic.headers, params=params)
        assert response.status_code == 422, response.text
        assert [error["field"] for error in response.json()["errors"]] == [f"{name}_to"]

    @pytest.mark.parametrize("name", ["scheduled_from", "sent_to"])
    async def test_a_time_without_offset_is_422(
        self, client: httpx.AsyncClient, clinic: ClinicAccess, name: str
    ) -> None:
        response = await client.get(
            "/v1/messages", headers=clinic.headers, params={name: "2026-12-02T10:00:00"}
        )
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == name
