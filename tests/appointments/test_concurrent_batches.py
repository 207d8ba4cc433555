"""Two practice-system clients pushing batches at once for the same patients: neither
deadlocks. Two appointment batches for one day wait for each other on the numbers they
message (advisory locks in one order), so every patient still gets one reminder for the
day; an appointment batch and a patient batch lock the patients in the same (id) order."""

import asyncio
import uuid
from datetime import UTC
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.appointments.messaging import NUMBER_LOCKS_AT_MOST, hold_numbers
from app.patients.models import Patient
from tests.appointments.conftest import put_appointment, put_rules, z
from tests.appointments.test_one_per_day import ONE_REMINDER, at, pending
from tests.conftest import ClinicAccess
from tests.messages.conftest import put_patient

PATIENTS = 200


def _patients() -> list[dict[str, Any]]:
    return [
        {
            "patient_no": f"P{n}",
            "first_name": "Kari",
            "last_name": "Berg",
            "mobile": f"+479120{n:04d}",
        }
        for n in range(PATIENTS)
    ]


def _appointments(hour: int, tag: str, numbers: range) -> dict[str, Any]:
    appointments = [
        {
            "appointment_id": f"{tag}{n}",
            "patient_no": f"P{n}",
            "practitioner": "Tannlege Hansen",
            "start": at(hour).isoformat(),
            "end": at(hour, 30).isoformat(),
        }
        for n in numbers
    ]
    return {"appointments": appointments}


@pytest.fixture
async def patients(client: httpx.AsyncClient, clinic: ClinicAccess, engine: AsyncEngine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite takes one writer at a time")
    await put_rules(client, clinic, **ONE_REMINDER)
    stored = await client.put(
        "/v1/patients", headers=clinic.headers, json={"patients": _patients()}
    )
    assert stored.status_code == 200, stored.text


@pytest.mark.usefixtures("patients")
# 30: each push holds its numbers' own locks; 200: past the bound, the clinic's.
@pytest.mark.parametrize("count", [30, PATIENTS])
async def test_two_batches_for_the_same_patients_day_neither_deadlock_nor_double(
    client: httpx.AsyncClient, clinic: ClinicAccess, count: int
) -> None:
    forward, backward = range(count), range(count - 1, -1, -1)
    # The first round makes each patient's reminder; in the second each batch joins them,
    # one in the patients' order and one in reverse.
    for hour in (9, 11):
        answers = await asyncio.gather(
            client.put(
                "/v1/appointments",
                headers=clinic.headers,
                json=_appointments(hour, f"A{hour}-", forward),
            ),
            client.put(
                "/v1/appointments",
                headers=clinic.headers,
                json=_appointments(hour + 4, f"B{hour}-", backward),
            ),
        )
        assert [answer.status_code for answer in answers] == [200, 200]
        assert [answer.json()["created"] for answer in answers] == [count, count]
    reminders = await pending(client, clinic, limit=500)
    assert sorted(m["to"] for m in reminders) == sorted(p["mobile"] for p in _patients()[:count])
    assert all(m["type"] == "reminder_1" for m in reminders)


@pytest.mark.usefixtures("patients")
async def test_an_appointment_batch_beside_a_patient_batch_in_reverse(
    client: httpx.AsyncClient, clinic: ClinicAccess
) -> None:
    for hour in (9, 11):
        renamed = [p | {"last_name": f"Dahl {hour}"} for p in reversed(_patients())]
        answers = await asyncio.gather(
            client.put(
                "/v1/appointments",
                headers=clinic.headers,
                json=_appointments(hour, f"A{hour}-", range(PATIENTS)),
            ),
            client.put("/v1/patients", headers=clinic.headers, json={"patients": renamed}),
        )
        assert [answer.status_code for answer in answers] == [200, 200]
        assert [answer.json()["failed"] for answer in answers] == [0, 0]
    reminders = await pending(client, clinic, limit=500)
    assert len(reminders) == PATIENTS
    assert all("Dahl 11" in m["patient_name"] for m in reminders)


async def _waits_for(engine: AsyncEngine, holder: int) -> bool:
    """Whether some session waits for a lock that the session `holder` (a pid) holds."""
    async with engine.connect() as connection:
        waiting = await connection.scalar(
            text("SELECT count(*) FROM pg_stat_activity WHERE :pid = ANY(pg_blocking_pids(pid))"),
            {"pid": holder},
        )
    return bool(waiting)


async def test_the_loser_of_a_deadlock_gets_503_and_nothing_of_it_is_saved(
    client: httpx.AsyncClient, clinic: ClinicAccess, engine: AsyncEngine
) -> None:
    """Another transaction (as some other path might) locks the appointment, then the
    patient the push has already share-locked: PostgreSQL rolls the push back as the
    deadlock's victim, and the answer says to send it again."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite takes one writer at a time: no deadlock")
    await put_patient(client, clinic, "1001")
    await put_appointment(client, clinic, "A1", start=at(9))
    body = {"patient_no": "1001", "practitioner": "Tannlege Hansen"} | {
        "start": at(10).isoformat(),
        "end": at(11).isoformat(),
    }
    async with engine.connect() as other:
        try:
            await other.execute(text("SET LOCAL deadlock_timeout = '10s'"))  # the push loses
            await other.execute(
                text("SELECT 1 FROM appointment WHERE clinic_id = :c FOR UPDATE"), {"c": clinic.id}
            )
            holder = await other.scalar(text("SELECT pg_backend_pid()"))
            moved = asyncio.create_task(
                client.put("/v1/appointments/A1", headers=clinic.headers, json=body)
            )
            while not await _waits_for(engine, holder):
                assert not moved.done(), moved.result().text
                await asyncio.sleep(0.01)
            await other.execute(
                text("SELECT 1 FROM patient WHERE clinic_id = :c FOR UPDATE"), {"c": clinic.id}
            )
            answer = await moved
        finally:
            await other.rollback()
    assert answer.status_code == 503, answer.text
    assert answer.headers["Retry-After"] == "1"
    assert answer.json()["type"].endswith("/busy")
    stored = await client.get("/v1/appointments/A1", headers=clinic.headers)
    assert stored.json()["start"] == z(at(9).astimezone(UTC))


@pytest.mark.usefixtures("patients")
async def test_a_re_push_beside_new_appointments_for_the_same_day(
    client: httpx.AsyncClient, clinic: ClinicAccess
) -> None:
    """One client moves the day's first appointments (its batch locks them), the other books
    a second one for each patient (its batch joins their reminders, which link the first
    appointments): the number locks come before the appointments', so neither waits in a
    circle."""
    forward, backward = range(PATIENTS), range(PATIENTS - 1, -1, -1)
    first = await client.put(
        "/v1/appointments", headers=clinic.headers, json=_appointments(9, "A-", forward)
    )
    assert first.json()["created"] == PATIENTS
    for hour in (10, 11):
        answers = await asyncio.gather(
            client.put(
                "/v1/appointments", headers=clinic.headers, json=_appointments(hour, "A-", backward)
            ),
            client.put(
                "/v1/appointments",
                headers=clinic.headers,
                json=_appointments(hour + 4, f"B{hour}-", forward),
            ),
        )
        assert [answer.status_code for answer in answers] == [200, 200]
        assert [answer.json()["failed"] for answer in answers] == [0, 0]
    reminders = await pending(client, clinic, limit=500)
    assert sorted(m["to"] for m in reminders) == sorted(p["mobile"] for p in _patients())


async def _advisory_modes(session: AsyncSession) -> list[str]:
    statement = text(
        "SELECT mode FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
    )
    return sorted((await session.execute(statement)).scalars())


def _person(number: int, *guardians: str) -> Patient:
    return Patient(
        clinic_id=uuid.uuid4(),
        search_text="",
        patient_no=f"P{number}",
        first_name="Kari",
        last_name="Berg",
        mobile=f"+479120{number:04d}",
        guardians=[{"name": "Anne", "mobile": mobile} for mobile in guardians],
    )


async def test_a_push_holds_a_lock_a_number_up_to_a_bound_then_one_for_the_clinic(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """PostgreSQL's lock table is shared by the server (about ten thousand): a batch of a
    thousand patients takes one lock, not three thousand."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite takes no locks of its own")
    clinic_id = uuid.uuid4()
    few = [_person(1, "+4791111111"), _person(2, "+4791111111"), _person(3)]
    many = [_person(n) for n in range(NUMBER_LOCKS_AT_MOST + 1)]
    async with sessionmaker() as session:
        async with session.begin():
            await hold_numbers(session, clinic_id, few)
            # Four numbers of their own, under the clinic's shared lock.
            assert await _advisory_modes(session) == ["ExclusiveLock"] * 4 + ["ShareLock"]
        async with session.begin():
            await hold_numbers(session, clinic_id, many)
            assert await _advisory_modes(session) == ["ExclusiveLock"]
