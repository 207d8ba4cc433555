import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import select

from app.core.clock import FixedClock
from app.core.config import Settings
from app.deliveries.models import StoredDeliveryReport
from app.messages.models import Message, MessageSearch
from app.replies.models import Reply
from app.retention import tasks
from tests.conftest import START_TIME, ClinicAccess


def _message(clinic_id: uuid.UUID, *, age_days: int, status: str = "sent") -> Message:
    created = START_TIME - timedelta(days=age_days)
    return Message(
        clinic_id=clinic_id,
        recipient_role="number",
        to_number="+4799999999",
        type="free",
        text=f"tekst {age_days} {status}",
        text_source='{"template": "tekst [URL]", "values": {"URL": "https://x.no/k"}}',
        encoding="GSM7",
        segments=1,
        cost=Decimal("0.45"),
        currency="NOK",
        status=status,
        send_kind="now",
        send_after=created,
        next_attempt_at=created,
        expires_at=START_TIME + timedelta(days=1),
        created_at=created,
    )


@pytest.fixture
def ctx(
    settings: Settings, clock: FixedClock, sessionmaker: async_sessionmaker[AsyncSession]
) -> dict[str, Any]:
    return {"settings": settings, "clock": clock, "sessionmaker": sessionmaker}


async def test_texts_older_than_retention_days_are_purged_in_batches_rows_stay(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    other_clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
    ctx: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(tasks, "BATCH_SIZE", 2)
    patch = await client.patch("/v1/settings", headers=clinic.headers, json={"retention_days": 30})
    assert patch.status_code == 200, patch.text
    async with sessionmaker() as session:
        session.add_all(
            [
                *(_message(clinic.id, age_days=31) for _ in range(3)),
                _message(clinic.id, age_days=29),
                _message(clinic.id, age_days=31, status="pending"),
                # Being handed to a provider: its text goes once it has settled.
                _message(clinic.id, age_days=31, status="sending"),
                _message(other_clinic.id, age_days=31),
                Reply(
                    clinic_id=clinic.id,
                    provider="sandbox",
                    provider_message_id="r1",
                    from_number="+4799999999",
                    text="gammelt svar",
                    received_at=START_TIME - timedelta(days=31),
                ),
                StoredDeliveryReport(
                    clinic_id=clinic.id,
                    provider="sandbox",
                    external_id="x1",
                    status_code="FAILED",
                    state="undelivered",
                    detail="provider says +4799999999 unreachable",
                    occurred_at=START_TIME - timedelta(days=31),
                    received_at=START_TIME - timedelta(days=31),
                ),
            ]
        )
        await session.commit()

    assert await tasks.purge(ctx) == {"messages": 3, "replies": 1, "delivery_reports": 1}

    async with sessionmaker() as session:
        messages = (await session.execute(select(Message))).scalars().all()
        reply = (await session.execute(select(Reply))).scalar_one()
        report = (await session.execute(select(StoredDeliveryReport))).scalar_one()
        documents = (await session.execute(select(MessageSearch.document))).scalars().all()
    kept = sorted((m.clinic_id == clinic.id, m.text) for m in messages if m.text is not None)
    assert kept == [
        (False, "tekst 31 sent"),
        (True, "tekst 29 sent"),
        (True, "tekst 31 pending"),
        (True, "tekst 31 sending"),
    ]
    assert len(messages) == 7
    assert all((m.text is None) == (m.text_source is None) for m in messages)
    # The search's copy lost the purged texts too.
    assert sorted(document.strip() for document in documents) == [
        "",
        "",
        "",
        *sorted(t for _, t in kept),
    ]
    assert sum(m.cost for m in messages) == Decimal("3.15")
    assert (reply.text, reply.from_number) == (None, "+4799999999")
    assert (report.detail, report.state) == (None, "undelivered")
    assert await tasks.purge(ctx) == {"messages": 0, "replies": 0, "delivery_reports": 0}
