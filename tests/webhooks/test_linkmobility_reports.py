"""LINK delivery reports through the webhook: every documented result code, parts,
repeats, order, and the answers to bad requests."""

import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from app.clinic_settings.models import ClinicSettings
from app.core.clock import FixedClock
from app.messages.sweep import settle_abandoned_sends
from app.providers.base import OutboundSms, SendResult
from app.webhooks.linkmobility import RESULT_CODES
from tests.conftest import ClinicAccess
from tests.support.dispatch import RecordingProvider, dispatch_once
from tests.webhooks.helpers import (
    apply_reports,
    captured_logs,
    create_message,
    load_message,
    sent_message,
    stored_count,
    webhook_path,
)

# LINK-MT pp. 24-26, read independently of the implementation's table.
DOCUMENTED: list[tuple[int, str]] = [
    (1001, "delivered"),
    (1007, "delivered"),
    *[(code, "accepted") for code in (1000, 1005, 1008, 1011, 1012, 1013)],
    *[(code, "undelivered") for code in (0, 1, 2, 3, 6, 104, 105)],
    *[(code, "unknown") for code in (4, 5, 1010)],
    *[(code, "undelivered") for code in (1002, 1003, 1004, 1006, 1009)],
    *[(code, "undelivered") for code in range(2000, 2004)],
    *[(code, "undelivered") for code in range(2100, 2108)],
    *[(code, "undelivered") for code in range(2200, 2208)],
    *[(code, "undelivered") for code in range(3000, 3003)],
    *[(code, "undelivered") for code in range(4000, 4008)],
]


def dlr(
    message_id: str, code: int, report_id: str = "Dcshuhod0PMAAAFQ", **extra: Any
) -> dict[str, Any]:
    return {
        "refId": message_id,
        "id": report_id,
        "operator": "no.telenor",
        "sentTimestamp": "2026-11-30T10:00:00Z",
        "timestamp": "2026-11-30T10:00:05Z",
        "resultCode": code,
        "operatorResultCode": "2",
        "segments": 1,
        "gateCustomParameters": {},
        "customParameters": {},
    } | extra


async def post_report(client: httpx.AsyncClient, path: str, body: Any) -> httpx.Response:
    return await client.post(path, json=body)


def test_every_documented_code_is_mapped() -> None:
    assert set(RESULT_CODES) == {code for code, _ in DOCUMENTED}


@pytest.mark.parametrize(("code", "expected"), DOCUMENTED, ids=[str(c) for c, _ in DOCUMENTED])
async def test_result_code_sets_the_delivery_state(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
    code: int,
    expected: str,
) -> None:
    message_id = await sent_message(client, clinic, sessionmaker, clock)
    path = await webhook_path(client, clinic, "linkmobility", "delivery")

    response = await post_report(client, path, dlr(message_id, code))

    assert response.status_code == 200, response.text
    assert response.json() == {"received": 1, "stored": 1}
    await apply_reports(sessionmaker, clock)
    message = await load_message(sessionmaker, message_id)
    assert message.delivery == expected
    assert message.status == "sent"
    if expected == "undelivered":
        assert message.failure_detail is not None
        assert f"result code {code}" in message.failure_detail
    if expected == "delivered":
        assert message.delivered_at is not None


class TestIdempotentAndOrderSafe:
    async def test_the_same_report_twice_is_stored_once(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: FixedClock,
    ) -> None:
        message_id = await sent_message(client, clinic, sessionmaker, clock)
        path = await webhook_path(client, clinic, "linkmobility", "delivery")
        first = await post_report(client, path, dlr(message_id, 1001))
        await apply_reports(sessionmaker, clock)
        delivered_at = (await load_message(sessionmaker, message_id)).delivered_at

        clock.advance(minutes=5)
        again = await post_report(client, path, dlr(message_id, 1001))

        assert first.json() == {"received": 1, "stored": 1}
        assert again.status_code == 200
        assert again.json() == {"received": 1, "stored": 0}
        assert await stored_count(sessionmaker) == 1
        assert (await apply_reports(sessionmaker, clock)).claimed == 0
        message = await load_message(sessionmaker, message_id)
        assert (message.delivery, message.delivered_at) == ("delivered", delivered_at)

    async def test_a_late_accepted_never_undoes_delivered(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: FixedClock,
    ) -> None:
        message_id = await sent_message(client, clinic, sessionmaker, clock)
        path = await webhook_path(client, clinic, "linkmobility", "delivery")
        await post_report(client, path, dlr(message_id, 1001))
        await apply_reports(sessionmaker, clock)
        await post_report(client, path, dlr(message_id, 1005))
        await post_report(client, path, dlr(message_id, 1000))
        await apply_reports(sessionmaker, clock)
        assert (await load_message(sessionmaker, message_id)).delivery == "delivered"

    async def test_late_accepted_in_the_same_batch_as_delivered(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: FixedClock,
    ) -> None:
        message_id = await sent_message(client, clinic, sessionmaker, clock)
        path = await webhook_path(client, clinic, "linkmobility", "delivery")
        await post_report(client, path, dlr(message_id, 1001))
        await post_report(client, path, dlr(message_id, 1005))
        result = await apply_reports(sessionmaker, clock)
        assert (result.claimed, result.applied) == (2, 2)
        assert (await load_message(sessionmaker, message_id)).delivery == "delivered"

    async def test_a_report_for_an_unknown_message_is_acknowledged(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: FixedClock,
    ) -> None:
        path = await webhook_path(client, clinic, "linkmobility", "delivery")
        unknown = await post_report(client, path, dlr(str(uuid.uuid4()), 1001))
        not_ours = await post_report(client, path, dlr("their-ref-42", 1001, report_id="x2"))
        no_ref = await post_report(client, path, {"id": "x3", "resultCode": 1001})
        assert [r.status_code for r in (unknown, not_ours, no_ref)] == [200, 200, 200]
        result = await apply_reports(sessionmaker, clock)
        assert (result.claimed, result.unknown_message, result.applied) == (1, 1, 0)
        assert (await apply_reports(sessionmaker, clock)).claimed == 0

    async def test_another_clinics_message_is_not_touched(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        other_clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: FixedClock,
    ) -> None:
        theirs = await sent_message(client, other_clinic, sessionmaker, clock)
        path = await webhook_path(client, clinic, "linkmobility", "delivery")
        assert (await post_report(client, path, dlr(theirs, 1001))).status_code == 200
        result = await apply_reports(sessionmaker, clock)
        assert result.unknown_message == 1
        assert (await load_message(sessionmaker, theirs)).delivery == "accepted"


LONG_TEXT = "a" * 400  # three GSM-7 parts


class TestParts:
    async def test_delivered_only_when_every_part_is(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: FixedClock,
    ) -> None:
        message_id = await sent_message(client, clinic, sessionmaker, clock, text=LONG_TEXT)
        assert (await load_message(sessionmaker, message_id)).segments == 3
        path = await webhook_path(client, clinic, "linkmobility", "delivery")
        for part in (0, 2):
            await post_report(client, path, dlr(message_id, 1001, report_id=f"abc${part}"))
        await apply_reports(sessionmaker, clock)
        assert (await load_message(sessionmaker, message_id)).delivery == "accepted"

        await post_report(client, path, dlr(message_id, 1001, report_id="abc$1"))
        await apply_reports(sessionmaker, clock)
        assert (await load_message(sessionmaker, message_id)).delivery == "delivered"

    async def test_all_parts_in_one_batch(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: FixedClock,
    ) -> None:
        message_id = await sent_message(client, clinic, sessionmaker, clock, text=LONG_TEXT)
        path = await webhook_path(client, clinic, "linkmobility", "delivery")
        for part in range(3):
            await post_report(client, path, dlr(message_id, 1001, report_id=f"abc${part}"))
        await apply_reports(sessionmaker, clock)
        assert (await load_message(sessionmaker, message_id)).delivery == "delivered"

    async def test_undelivered_as_soon_as_one_part_fails_for_good(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: FixedClock,
    ) -> None:
        message_id = await sent_message(client, clinic, sessionmaker, clock, text=LONG_TEXT)
        path = await webhook_path(client, clinic, "linkmobility", "delivery")
        await post_report(client, path, dlr(message_id, 1001, report_id="abc$0"))
        await post_report(client, path, dlr(message_id, 2104, report_id="abc$1"))
        await apply_reports(sessionmaker, clock)
        message = await load_message(sessionmaker, message_id)
        assert message.delivery == "undelivered"
        assert message.failure_detail == "LINK Mobility: unknown subscriber (result code 2104)"

        await post_report(client, path, dlr(message_id, 1001, report_id="abc$1"))
        await post_report(client, path, dlr(message_id, 1001, report_id="abc$2"))
        await apply_reports(sessionmaker, clock)
        assert (await load_message(sessionmaker, message_id)).delivery == "undelivered"

    async def test_intermediate_part_reports_do_not_count_as_delivered(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: FixedClock,
    ) -> None:
        message_id = await sent_message(client, clinic, sessionmaker, clock, text=LONG_TEXT)
        path = await webhook_path(client, clinic, "linkmobility", "delivery")
        for part in range(3):
            await post_report(client, path, dlr(message_id, 1005, report_id=f"abc${part}"))
        await post_report(client, path, dlr(message_id, 1001, report_id="abc$0"))
        await apply_reports(sessionmaker, clock)
        assert (await load_message(sessionmaker, message_id)).delivery == "accepted"


class TestRefusals:
    async def test_unknown_secret_is_404_and_stores_nothing(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: FixedClock,
    ) -> None:
        message_id = await sent_message(client, clinic, sessionmaker, clock)
        response = await post_report(
            client, "/v1/webhooks/linkmobility/not-a-secret/delivery", dlr(message_id, 1001)
        )
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
        assert await stored_count(sessionmaker) == 0

    async def test_unknown_provider_is_404(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        path = await webhook_path(client, clinic, "carrier-pigeon", "delivery")
        assert (await client.post(path, json={})).status_code == 404

    @pytest.mark.parametrize(
        ("body", "reason"),
        [
            (b"not json", "not JSON"),
            (b"[]", "expected a delivery report"),
            (b'"text"', "expected a delivery report"),
            (b'{"resultCode": 1001}', "`id`"),
            (b'{"id": "abc"}', "`resultCode`"),
            (b'{"id": "abc", "resultCode": "delivered"}', "`resultCode`"),
            (b'{"id": "abc", "resultCode": true}', "`resultCode`"),
        ],
    )
    async def test_a_malformed_body_is_400_with_the_reason(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        body: bytes,
        reason: str,
    ) -> None:
        path = await webhook_path(client, clinic, "linkmobility", "delivery")
        with captured_logs("app.webhooks.router") as logs:
            response = await client.post(
                path, content=body, headers={"Content-Type": "application/json"}
            )
        assert response.status_code == 400
        problem = response.json()
        assert problem["type"] == "/problems/malformed-webhook"
        assert reason in problem["detail"]
        assert await stored_count(sessionmaker) == 0
        assert logs.messages == ["malformed provider webhook"]
        assert reason in logs.records[0].reason

    async def test_a_batch_of_reports_in_one_body(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: FixedClock,
    ) -> None:
        first = await sent_message(client, clinic, sessionmaker, clock)
        second = await sent_message(client, clinic, sessionmaker, clock, to="+4791234568")
        path = await webhook_path(client, clinic, "linkmobility", "delivery")
        response = await post_report(
            client, path, [dlr(first, 1001, report_id="a"), dlr(second, 2106, report_id="b")]
        )
        assert response.json() == {"received": 2, "stored": 2}
        await apply_reports(sessionmaker, clock)
        assert (await load_message(sessionmaker, first)).delivery == "delivered"
        assert (await load_message(sessionmaker, second)).delivery == "undelivered"


async def test_a_body_over_a_mebibyte_is_413(
    client: httpx.AsyncClient, clinic: ClinicAccess, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    path = await webhook_path(client, clinic, "linkmobility", "delivery")
    reports = [dlr(str(uuid.uuid4()), 1001, report_id=f"r{n}") for n in range(4000)]
    response = await post_report(client, path, reports)
    assert response.status_code == 413
    assert response.json()["type"] == "/problems/body-too-large"
    assert await stored_count(sessionmaker) == 0


async def test_a_report_through_another_providers_webhook_changes_nothing(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
) -> None:
    """LINK's webhook checks no signature; a message sent through Twilio (whose webhook
    does) must not take a delivery state from it, whoever knows the URL."""
    message_id = await sent_message(client, clinic, sessionmaker, clock, "twilio")
    path = await webhook_path(client, clinic, "linkmobility", "delivery")

    response = await post_report(client, path, dlr(message_id, 1002))

    assert response.status_code == 200  # acknowledged: LINK must not retry it
    result = await apply_reports(sessionmaker, clock)
    assert (result.applied, result.unknown_message) == (0, 1)
    assert (await load_message(sessionmaker, message_id)).delivery == "accepted"


async def test_a_report_for_a_message_never_handed_to_a_provider_is_ignored(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
) -> None:
    """Acknowledged and set aside, not kept waiting: a pile of such reports must not stop
    the ones behind them."""
    message_id = await create_message(client, clinic)
    path = await webhook_path(client, clinic, "linkmobility", "delivery")
    await post_report(client, path, dlr(message_id, 1001))
    result = await apply_reports(sessionmaker, clock)
    assert (result.applied, result.unknown_message, result.waiting) == (0, 1, 0)
    assert (await load_message(sessionmaker, message_id)).delivery is None


async def test_a_report_for_a_send_the_sweep_settled_is_applied(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
) -> None:
    """The worker died after the request went out: the message is sent/unknown, and the
    provider's report then says what happened."""
    async with sessionmaker.begin() as session:
        await session.execute(
            update(ClinicSettings)
            .where(col(ClinicSettings.clinic_id) == clinic.id)
            .values(provider="linkmobility", sender_name="Tannlegen")
        )
    message_id = await create_message(client, clinic)

    class DyingProvider(RecordingProvider):
        async def send_batch(self, messages: Sequence[OutboundSms]) -> list[SendResult]:
            clock.advance(minutes=2)
            async with sessionmaker.begin() as session:
                settled = await settle_abandoned_sends(
                    session,
                    now=clock.now(),
                    grace=timedelta(seconds=30),
                    worker_dead_after=timedelta(seconds=60),
                    longest_send=timedelta(minutes=30),
                )
            assert settled == 1
            return await super().send_batch(messages)

    await dispatch_once(sessionmaker, clock, DyingProvider(name="linkmobility"))
    assert (await load_message(sessionmaker, message_id)).delivery == "unknown"

    path = await webhook_path(client, clinic, "linkmobility", "delivery")
    await post_report(client, path, dlr(message_id, 1001))
    result = await apply_reports(sessionmaker, clock)
    assert result.applied == 1
    assert (await load_message(sessionmaker, message_id)).delivery == "delivered"


async def test_a_chunked_body_is_read_no_further_than_the_limit(
    client: httpx.AsyncClient,
) -> None:
    """No Content-Length to check first, and no secret needed to get this far: the body
    must not be read whole into memory."""
    sent: list[int] = []

    async def sixteen_mebibytes() -> AsyncIterator[bytes]:
        for _ in range(256):
            sent.append(1)
            yield b"x" * 65_536

    response = await client.post(
        "/v1/webhooks/linkmobility/no-such-secret/delivery", content=sixteen_mebibytes()
    )
    assert response.status_code == 413
    assert len(sent) < 32  # a little past 1 MiB, not 16
