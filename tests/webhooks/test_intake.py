"""Reports arriving together are written together, and each request gets its own answer."""

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.core.clock import FixedClock
from app.deliveries import intake as intake_module
from tests.conftest import ClinicAccess
from tests.webhooks.helpers import (
    apply_reports,
    load_message,
    sent_message,
    stored_count,
    webhook_path,
)


async def test_concurrent_reports_share_a_transaction(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    other_clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
    clock: FixedClock,
) -> None:
    ours = [
        await sent_message(client, clinic, sessionmaker, clock, to=f"+479123456{n}")
        for n in range(5)
    ]
    theirs = await sent_message(client, other_clinic, sessionmaker, clock)
    mine = await webhook_path(client, clinic, "linkmobility", "delivery")
    other = await webhook_path(client, other_clinic, "linkmobility", "delivery")

    def report(message_id: str, report_id: str) -> dict[str, Any]:
        return {"refId": message_id, "id": report_id, "resultCode": 1001}

    posts = [(mine, report(message_id, f"r{n}")) for n, message_id in enumerate(ours)]
    posts += [
        (mine, report(ours[0], "r0")),  # a repeat, in the same batch
        (other, report(theirs, "t0")),
        ("/v1/webhooks/linkmobility/no-such-secret/delivery", report(ours[1], "x")),
        (mine, report(str(uuid.uuid4()), "unknown")),
    ]
    inserts: list[str] = []

    def count(*args: Any) -> None:
        if args[2].lstrip().upper().startswith("INSERT INTO DELIVERY_REPORT"):
            inserts.append(args[2])

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        answers = await asyncio.gather(*(client.post(path, json=body) for path, body in posts))
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)

    assert [a.status_code for a in answers] == [200] * 7 + [404, 200]
    # Of the two posts of report r0, one stored it; which one depends on the batch order.
    assert sorted(a.json()["stored"] for a in answers[:6]) == [0, 1, 1, 1, 1, 1]
    assert answers[6].json() == {"received": 1, "stored": 1}
    assert answers[8].json() == {"received": 1, "stored": 1}
    assert len(inserts) < 8, "reports arriving together are inserted together"
    assert await stored_count(sessionmaker) == 7
    await apply_reports(sessionmaker, clock)
    for message_id in [*ours, theirs]:
        assert (await load_message(sessionmaker, message_id)).delivery == "delivered"


async def test_one_bad_report_fails_only_its_own_request(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    other_clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Reports arriving together share a transaction; one that the database refuses (a
    case the parsers did not foresee) must not take the other clinics' down with it."""
    ours = await sent_message(client, clinic, sessionmaker, clock)
    theirs = await sent_message(client, other_clinic, sessionmaker, clock)
    mine = await webhook_path(client, clinic, "linkmobility", "delivery")
    other = await webhook_path(client, other_clinic, "linkmobility", "delivery")
    real_row = intake_module.report_row

    def refuse_poison(report: Any, **fields: Any) -> dict[str, Any]:
        if report.external_id == "poison":
            raise ValueError("the database refuses this row")
        return real_row(report, **fields)

    monkeypatch.setattr(intake_module, "report_row", refuse_poison)
    answers = await asyncio.gather(
        client.post(mine, json={"refId": ours, "id": "fine", "resultCode": 1001}),
        client.post(other, json={"refId": theirs, "id": "poison", "resultCode": 1001}),
        client.post(other, json={"refId": theirs, "id": "fine-too", "resultCode": 1001}),
    )
    assert [answer.status_code for answer in answers] == [200, 500, 200]  # LINK retries it
    await apply_reports(sessionmaker, clock)
    assert (await load_message(sessionmaker, ours)).delivery == "delivered"
    assert (await load_message(sessionmaker, theirs)).delivery == "delivered"
