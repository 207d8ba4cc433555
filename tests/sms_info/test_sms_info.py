"""GET /v1/sms-info: counts by the clinic's calendar, the last exchanges, the worker."""

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.clock import FixedClock
from app.messages.sweep import expire_overdue
from app.worker.models import WorkerStatus
from tests.conftest import ClinicAccess
from tests.replies.test_inbound import reply
from tests.webhooks.helpers import (
    apply_reports,
    create_message,
    sent_message,
    webhook_path,
)

NO_PAUSES = {"saturday": False, "sunday": False, "night_start": None, "night_end": None}


async def info(client: httpx.AsyncClient, clinic: ClinicAccess) -> dict[str, Any]:
    response = await client.get("/v1/sms-info", headers=clinic.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_new_clinic(client: httpx.AsyncClient, clinic: ClinicAccess) -> None:
    body = await info(client, clinic)
    zero = {"messages": 0, "segments": 0, "cost": {"amount": "0.00", "currency": "NOK"}}
    assert body["sent"] == {"today": zero, "this_month": zero, "total": zero}
    assert body["last_sent_at"] is None
    assert body["last_received_at"] is None
    assert body["last_error"] is None
    assert body["last_result"] is None
    assert body["worker"] is None
    assert body["time_zone"] == "Europe/Oslo"
    assert body["pause_rules"] == {
        "saturday": True,
        "sunday": True,
        "night_start": "21:00:00",
        "night_end": "08:00:00",
    }


async def test_counts_follow_the_clinics_calendar(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    other_clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
) -> None:
    await client.patch(
        "/v1/settings",
        headers=clinic.headers,
        json={"pause_rules": NO_PAUSES, "price_per_segment": "0.50"},
    )
    moments = [
        datetime(2026, 10, 31, 12, 0, tzinfo=UTC),  # last month
        datetime(2026, 11, 1, 8, 0, tzinfo=UTC),  # this month
        datetime(2026, 11, 29, 22, 30, tzinfo=UTC),  # 23:30 in Oslo: yesterday
        datetime(2026, 11, 29, 23, 30, tzinfo=UTC),  # 00:30 in Oslo: today
        datetime(2026, 11, 30, 9, 0, tzinfo=UTC),  # today, two segments
    ]
    for index, moment in enumerate(moments):
        clock.set(moment)
        text = "a" * 200 if index == 4 else "Hei"
        await sent_message(client, clinic, sessionmaker, clock, text=text)
    await sent_message(client, other_clinic, sessionmaker, clock)
    clock.set(datetime(2026, 11, 30, 10, 0, tzinfo=UTC))

    sent = (await info(client, clinic))["sent"]

    assert sent["today"] == {
        "messages": 2,
        "segments": 3,
        "cost": {"amount": "1.50", "currency": "NOK"},
    }
    assert (sent["this_month"]["messages"], sent["this_month"]["segments"]) == (4, 5)
    assert (sent["total"]["messages"], sent["total"]["segments"]) == (5, 6)
    assert sent["total"]["cost"] == {"amount": "3.00", "currency": "NOK"}


async def test_last_exchanges_and_errors(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
) -> None:
    delivered = await sent_message(client, clinic, sessionmaker, clock)
    sent_at = clock.now()
    clock.advance(minutes=1)
    undelivered = await sent_message(client, clinic, sessionmaker, clock, to="+4791234568")
    clock.advance(minutes=1)
    path = await webhook_path(client, clinic, "linkmobility", "delivery")
    await client.post(path, json={"refId": delivered, "id": "a", "resultCode": 1001})
    clock.advance(minutes=1)
    await client.post(path, json={"refId": undelivered, "id": "b", "resultCode": 2104})
    report_at = clock.now()
    await apply_reports(sessionmaker, clock)

    body = await info(client, clinic)
    assert body["last_sent_at"] == "2026-11-30T10:01:00Z"
    assert body["last_received_at"] == "2026-11-30T10:03:00Z"
    assert body["last_error"] == {
        "at": report_at.isoformat().replace("+00:00", "Z"),
        "text": "LINK Mobility: unknown subscriber (result code 2104)",
        "message_id": undelivered,
    }
    assert body["last_result"]["message_id"] == undelivered
    assert (body["last_result"]["status_code"], body["last_result"]["delivery"]) == (
        "S",
        "undelivered",
    )
    assert sent_at < clock.now()

    clock.advance(minutes=1)
    expiring = await create_message(
        client, clinic, expires_at=(clock.now() + timedelta(minutes=1)).isoformat()
    )
    clock.advance(minutes=2)
    async with sessionmaker.begin() as session:
        await expire_overdue(session, now=clock.now())
    clock.advance(minutes=1)
    await reply(client, clinic, "Hei")

    body = await info(client, clinic)
    assert body["last_error"]["message_id"] == expiring
    assert body["last_error"]["text"] == "expired"
    assert body["last_result"]["status_code"] == "F"
    assert body["last_received_at"] == clock.now().isoformat().replace("+00:00", "Z")


async def test_worker_status_from_the_newest_heartbeat(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
) -> None:
    started = clock.now() - timedelta(hours=2)
    async with sessionmaker.begin() as session:
        for name, beat in (("old", timedelta(hours=1)), ("new", timedelta(seconds=10))):
            session.add(
                WorkerStatus(
                    worker_id=name,
                    version="0.1.0",
                    host=f"host-{name}",
                    pid=1,
                    mode="sqlite",
                    sweep_interval_seconds=20,
                    started_at=started,
                    last_beat_at=clock.now() - beat,
                )
            )
    worker = (await info(client, clinic))["worker"]
    assert worker == {
        "version": "0.1.0",
        "host": "host-new",
        "mode": "sqlite",
        "started_at": "2026-11-30T08:00:00Z",
        "last_beat_at": "2026-11-30T09:59:50Z",
        "sweep_interval_seconds": 20,
        "alive": True,
    }
    clock.advance(minutes=1)
    assert (await info(client, clinic))["worker"]["alive"] is False
