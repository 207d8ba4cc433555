"""The outbox shows each message when the worker will really send it: pauses applied as
the worker applies them, on the clinic's local days, across a DST change."""

from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.clock import FixedClock
from app.messages import tasks
from app.messages.models import Message
from tests.conftest import ClinicAccess
from tests.outbox.helpers import NIGHTS, NO_PAUSES, outbox, queue, set_pauses, waiting_to_retry, z

MONDAY_EVENING = datetime(2026, 11, 30, 19, 0, tzinfo=UTC)  # 20:00 in Oslo
TUESDAY_08 = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)  # the night pause ends


async def test_tonight_in_the_night_pause_goes_at_its_end_and_the_worker_agrees(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    clock: FixedClock,
    ctx: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    late = await queue(client, clinic, datetime(2026, 11, 30, 21, 30, tzinfo=UTC))
    retry = await queue(client, clinic, MONDAY_EVENING)
    await waiting_to_retry(sessionmaker, retry["id"], datetime(2026, 11, 30, 21, 0, tzinfo=UTC))
    too_late = await queue(client, clinic, MONDAY_EVENING)
    await waiting_to_retry(
        sessionmaker,
        too_late["id"],
        datetime(2026, 11, 30, 21, 0, tzinfo=UTC),
        expires_at=datetime(2026, 12, 1, 6, 0, tzinfo=UTC),
    )

    today = await outbox(client, clinic, "2026-11-30", "2026-11-30")
    assert (today["data"], today["totals"]["messages"]) == ([], 0)
    tomorrow = await outbox(client, clinic, "2026-12-01", "2026-12-01")
    shown = {item["message"]["id"]: item["sends_at"] for item in tomorrow["data"]}
    assert shown == {late["id"]: z(TUESDAY_08), retry["id"]: z(TUESDAY_08)}
    assert {item["day"] for item in tomorrow["data"]} == {"2026-12-01"}

    clock.set(datetime(2026, 12, 1, 6, 59, tzinfo=UTC))
    assert (await tasks.dispatch(ctx))["accepted"] == 0
    clock.set(TUESDAY_08)
    assert (await tasks.dispatch(ctx))["accepted"] == 2
    async with sessionmaker() as session:
        sent = {
            str(message.id): message.sent_at
            for message in (await session.execute(select(Message))).scalars()
            if message.sent_at is not None
        }
    assert {message_id: z(at) for message_id, at in sent.items()} == shown


async def test_days_and_pause_ends_follow_the_clinic_clock_across_a_dst_change(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    clock: FixedClock,
    ctx: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """Summer time starts in Oslo on Sunday 28 March 2027 at 02:00 (UTC+1 -> UTC+2)."""
    clock.set(datetime(2027, 3, 26, 12, 0, tzinfo=UTC))
    await set_pauses(client, clinic, NO_PAUSES)
    saturday_late = await queue(client, clinic, datetime(2027, 3, 27, 22, 30, tzinfo=UTC))
    sunday_late = await queue(client, clinic, datetime(2027, 3, 28, 22, 30, tzinfo=UTC))
    retry = await queue(client, clinic, datetime(2027, 3, 27, 12, 0, tzinfo=UTC))
    await waiting_to_retry(sessionmaker, retry["id"], datetime(2027, 3, 27, 21, 0, tzinfo=UTC))

    unpaused = await outbox(client, clinic, "2027-03-27", "2027-03-29")
    days = {item["message"]["id"]: item["day"] for item in unpaused["data"]}
    # 23:30 CET is still Saturday; 22:30 UTC on Sunday is 00:30 CEST on Monday.
    assert days[saturday_late["id"]] == "2027-03-27"
    assert days[sunday_late["id"]] == "2027-03-29"
    assert [day["messages"] for day in unpaused["days"]] == [2, 0, 1]

    await set_pauses(client, clinic, NIGHTS)  # moves the untried ones; the retry keeps 21:00
    paused = await outbox(client, clinic, "2027-03-27", "2027-03-29")
    sunday_08_summer = z(datetime(2027, 3, 28, 6, 0, tzinfo=UTC))
    times = {item["message"]["id"]: item["sends_at"] for item in paused["data"]}
    assert times == {
        saturday_late["id"]: sunday_08_summer,
        retry["id"]: sunday_08_summer,
        sunday_late["id"]: z(datetime(2027, 3, 29, 6, 0, tzinfo=UTC)),
    }
    assert [day["messages"] for day in paused["days"]] == [0, 2, 1]

    clock.set(datetime(2027, 3, 28, 5, 59, tzinfo=UTC))
    assert (await tasks.dispatch(ctx))["accepted"] == 0
    clock.set(datetime(2027, 3, 28, 6, 0, tzinfo=UTC))
    assert (await tasks.dispatch(ctx))["accepted"] == 2
