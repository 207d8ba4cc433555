import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import event, insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlmodel import func, select

from app.clinics.service import create_clinic
from app.core.errors import InvalidInput, NotFound
from app.patients import service
from app.patients.models import Patient
from app.patients.schemas import PatientWrite
from tests.conftest import START_TIME


@pytest.fixture
async def clinic_ids(sessionmaker: async_sessionmaker[AsyncSession]) -> tuple[uuid.UUID, uuid.UUID]:
    async with sessionmaker() as session:
        mine = await create_clinic(session, name="Tannlege Berg")
        theirs = await create_clinic(session, name="Smil Tannhelse")
        await session.commit()
        return mine.id, theirs.id


@pytest.fixture
async def session(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with sessionmaker() as session:
        yield session


def _row(clinic_id: uuid.UUID, patient_no: str) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "clinic_id": clinic_id,
        "patient_no": patient_no,
        "first_name": "Test",
        "last_name": patient_no,
        "mobile": None,
        "mobile_problem": "no_mobile",
        "wants_sms": False,
        "guardians": [],
        "search_text": f"test {patient_no}",
        "created_at": START_TIME,
        "updated_at": START_TIME,
    }


class TestLookups:
    async def test_get_patient_is_scoped_by_clinic(
        self, session: AsyncSession, clinic_ids: tuple[uuid.UUID, uuid.UUID]
    ) -> None:
        mine, theirs = clinic_ids
        data = PatientWrite(first_name="Kari", last_name="Nordmann", mobile="91234567")
        await service.upsert_patient(
            session, clinic_id=mine, patient_no="1", data=data, now=START_TIME
        )
        patient = await service.get_patient(session, clinic_id=mine, patient_no="1")
        assert patient.mobile == "+4791234567"
        with pytest.raises(NotFound):
            await service.get_patient(session, clinic_id=theirs, patient_no="1")
        with pytest.raises(NotFound):
            await service.get_patient(session, clinic_id=mine, patient_no="2")

    async def test_by_number_finds_10000_in_one_query_or_batches_of_500(
        self,
        session: AsyncSession,
        engine: AsyncEngine,
        clinic_ids: tuple[uuid.UUID, uuid.UUID],
    ) -> None:
        mine, theirs = clinic_ids
        numbers = [f"{i:05d}" for i in range(10_000)]
        rows = [_row(mine, n) for n in numbers]
        await session.execute(insert(Patient), rows)
        await session.execute(insert(Patient), [_row(theirs, n) for n in ["00001", "X-1"]])
        await session.commit()

        selects: list[str] = []

        def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            if statement.lstrip().upper().startswith("SELECT"):
                selects.append(statement)

        wanted = [*numbers, "00001", "missing", "X-1"]
        event.listen(engine.sync_engine, "before_cursor_execute", count)
        try:
            found = await service.get_patients_by_number(
                session, clinic_id=mine, patient_nos=wanted
            )
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", count)

        # PostgreSQL: one `= ANY(array)`; SQLite: 10,002 distinct numbers in batches of 500.
        postgres = engine.dialect.name == "postgresql"
        assert len(selects) == (1 if postgres else 21)
        assert sorted(found) == numbers
        assert {n: p.id for n, p in found.items()} == {row["patient_no"]: row["id"] for row in rows}

    async def test_by_number_with_nothing_asked_is_empty(
        self, session: AsyncSession, clinic_ids: tuple[uuid.UUID, uuid.UUID]
    ) -> None:
        assert (
            await service.get_patients_by_number(session, clinic_id=clinic_ids[0], patient_nos=[])
            == {}
        )


class TestUpsert:
    async def test_invalid_guardian_number_writes_nothing(
        self, session: AsyncSession, clinic_ids: tuple[uuid.UUID, uuid.UUID]
    ) -> None:
        data = PatientWrite.model_validate(
            {
                "first_name": "A",
                "last_name": "B",
                "mobile": "91234567",
                "guardians": [
                    {"name": "Mor", "mobile": "91234568"},
                    {"name": "Far", "mobile": "1"},
                ],
            }
        )
        with pytest.raises(InvalidInput) as raised:
            await service.upsert_patient(
                session, clinic_id=clinic_ids[0], patient_no="1", data=data, now=START_TIME
            )
        assert [e.field for e in raised.value.errors] == ["guardians.1.mobile"]
        count = await session.execute(select(func.count()).select_from(Patient))
        assert count.scalar_one() == 0

    async def test_search_text_holds_names_number_and_mobiles_lowercased(
        self, session: AsyncSession, clinic_ids: tuple[uuid.UUID, uuid.UUID]
    ) -> None:
        data = PatientWrite.model_validate(
            {
                "first_name": "Åse",
                "last_name": "ØDEGÅRD",
                "mobile": "22 33 44 55",
                "guardians": [{"name": "Mor", "mobile": "0047 412 34 567"}, {"name": "Far"}],
            }
        )
        patient, created = await service.upsert_patient(
            session, clinic_id=clinic_ids[0], patient_no="AB-7", data=data, now=START_TIME
        )
        assert created is True
        assert patient.search_text == "åse ødegård ab-7 +4722334455 +4741234567"
        assert patient.mobile_problem == "not_mobile"
        assert [g["mobile_problem"] for g in patient.guardians] == [None, "no_mobile"]


class TestCursor:
    @pytest.mark.parametrize("patient_no", ["1", "P-0001", "Ødegård/7", "x" * 50])
    def test_round_trip(self, patient_no: str) -> None:
        cursor = service.encode_cursor(patient_no)
        assert patient_no not in cursor
        assert "=" not in cursor
        assert service.decode_cursor(cursor) == patient_no

    @pytest.mark.parametrize("cursor", ["", "!!", "_w", service.encode_cursor("x" * 51)])
    def test_rejects_what_it_did_not_make(self, cursor: str) -> None:
        with pytest.raises(InvalidInput) as raised:
            service.decode_cursor(cursor)
        assert raised.value.errors[0].field == "cursor"
