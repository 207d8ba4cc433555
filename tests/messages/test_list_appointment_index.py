"""`GET /v1/messages?appointment_id=` finds an appointment's messages, its own and the
reminders it shares (issue 12 §2), by two index lookups: never by testing each of the
clinic's messages, which took a second at 100,000 messages a clinic (issue 15 §2)."""

import uuid

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.messages.listing import MessageFilters, _filtered
from app.messages.models import Message, message_table
from tests.messages.conftest import plan_of


async def test_the_appointment_filter_is_two_index_lookups(engine: AsyncEngine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("the plan is PostgreSQL's")
    clinic_id = uuid.uuid4()
    statement = (
        _filtered(select(Message), MessageFilters(appointment_id="A1"), "NO", clinic_id)
        .where(message_table.c.clinic_id == clinic_id)
        .order_by(message_table.c.created_at.desc(), message_table.c.id.desc())
        .limit(51)
    )
    plan = "\n".join(await plan_of(engine, statement, settings=("enable_seqscan = off",)))
    # An OR with the shared ones was a subplan run for each of the clinic's messages.
    assert "SubPlan" not in plan, plan
    assert "Index Scan using ix_message_appointment_appointment" in plan, plan
