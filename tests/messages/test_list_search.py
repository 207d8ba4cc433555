"""Free-text search reads the newest rows first, then what the trigram index finds among
the older ones: the answer is the same as one scan, newest first, page by page."""

from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from app.core.clock import FixedClock
from app.messages import listing
from app.messages.models import Message, MessageStatus
from tests.conftest import ClinicAccess

Json = dict[str, Any]


async def _post(client: httpx.AsyncClient, clinic: ClinicAccess, text: str) -> None:
    response = await client.post(
        "/v1/messages", headers=clinic.headers, json={"to": "+4791234567", "text": text}
    )
    assert response.status_code == 201, response.text


async def _found(
    client: httpx.AsyncClient, clinic: ClinicAccess, limit: int, **params: Any
) -> list[str]:
    """Every text the search finds, page by page along the cursor."""
    texts: list[str] = []
    cursor = None
    while True:
        page_params: Json = {"limit": limit} | params | ({"cursor": cursor} if cursor else {})
        response = await client.get("/v1/messages", headers=clinic.headers, params=page_params)
        assert response.status_code == 200, response.text
        texts += [message["text"] for message in response.json()["data"]]
        if (cursor := response.json()["next_cursor"]) is None:
            return texts


KAFFE_NEWEST_FIRST = ["kaffe 5", "kaffe 3", "kaffe 1", "sjelden kaffe 0"]


@pytest.fixture
async def messages(
    client: httpx.AsyncClient, clinic: ClinicAccess, other_clinic: ClinicAccess, clock: FixedClock
) -> None:
    """Oldest first: two rare words at the old end, a common word throughout."""
    for text in ("sjelden kaffe 0", "kaffe 1", "te 2", "kaffe 3", "te 4", "kaffe 5", "te 6"):
        clock.advance(seconds=1)
        await _post(client, clinic, text)
        await _post(client, other_clinic, text)


@pytest.mark.parametrize("window", [2, 3, 1000])
@pytest.mark.parametrize("limit", [1, 2, 50])
async def test_any_window_finds_the_same_newest_first(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    messages: None,
    monkeypatch: pytest.MonkeyPatch,
    window: int,
    limit: int,
) -> None:
    monkeypatch.setattr(listing, "SEARCH_WINDOW", window)
    assert await _found(client, clinic, limit, q="KAFFE") == KAFFE_NEWEST_FIRST
    assert await _found(client, clinic, limit, q="sjelden") == ["sjelden kaffe 0"]
    assert await _found(client, clinic, limit, q="te ") == ["te 6", "te 4", "te 2"]
    assert await _found(client, clinic, limit, q="kakao") == []


async def test_past_the_window_other_filters_still_apply(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    messages: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(listing, "SEARCH_WINDOW", 2)
    assert await _found(client, clinic, 2, q="kaffe", type="recall") == []
    assert await _found(client, clinic, 2, q="kaffe", type="free_text") == KAFFE_NEWEST_FIRST


@pytest.mark.parametrize("window", [2, 3, 1000])
@pytest.mark.parametrize("limit", [1, 2, 50])
async def test_messages_being_sent_are_found_in_their_place(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    messages: None,
    sessionmaker: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
    window: int,
    limit: int,
) -> None:
    """The window is the newest rows of both kinds the list reads apart (migration 0029),
    the settled and those in `sending`: none found twice, none left out."""
    async with sessionmaker.begin() as session:
        await session.execute(
            update(Message)
            .where(col(Message.text).in_(["kaffe 1", "kaffe 3", "te 4"]))
            .values(status=MessageStatus.SENDING)
        )
    monkeypatch.setattr(listing, "SEARCH_WINDOW", window)
    assert await _found(client, clinic, limit, q="kaffe") == KAFFE_NEWEST_FIRST
    assert await _found(client, clinic, limit, q="te ") == ["te 6", "te 4", "te 2"]
