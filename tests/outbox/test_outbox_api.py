"""GET /v1/outbox: figures per day and type, the clinic's own messages only, pages, and
refusals that name the field."""

from datetime import UTC, datetime

import httpx
import pytest

from tests.conftest import ClinicAccess
from tests.messages.conftest import put_patient
from tests.outbox.helpers import outbox, queue

TUESDAY = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
WEDNESDAY = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def nok(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "NOK"}


async def test_counts_segments_and_cost_per_type_per_day_and_in_all(
    client: httpx.AsyncClient, clinic: ClinicAccess
) -> None:
    await client.patch(
        "/v1/settings",
        headers=clinic.headers,
        json={"price_per_segment": "0.45", "business_phone": "22 33 44 55"},
    )
    await put_patient(client, clinic, "1001", wants_sms=True)
    await queue(client, clinic, TUESDAY)
    await queue(client, clinic, TUESDAY, text="a" * 161)  # two segments
    await queue(
        client, clinic, TUESDAY, to=None, text=None, patient_no="1001", template_type="notice"
    )
    await queue(client, clinic, WEDNESDAY)
    await queue(client, clinic, datetime(2026, 12, 3, 9, 0, tzinfo=UTC))  # after the period

    answer = await outbox(client, clinic, "2026-12-01", "2026-12-02")
    assert (answer["from"], answer["to"], answer["time_zone"]) == (
        "2026-12-01",
        "2026-12-02",
        "Europe/Oslo",
    )
    assert answer["sms_enabled"] is True
    tuesday, wednesday = answer["days"]
    assert tuesday == {
        "day": "2026-12-01",
        "messages": 3,
        "segments": 4,
        "cost": nok("1.80"),
        "by_type": [
            {"type": "free_text", "messages": 2, "segments": 3, "cost": nok("1.35")},
            {"type": "notice", "messages": 1, "segments": 1, "cost": nok("0.45")},
        ],
    }
    assert (wednesday["day"], wednesday["messages"], wednesday["cost"]) == (
        "2026-12-02",
        1,
        nok("0.45"),
    )
    assert answer["totals"] == {
        "messages": 4,
        "segments": 5,
        "cost": nok("2.25"),
        "by_type": [
            {"type": "free_text", "messages": 3, "segments": 4, "cost": nok("1.80")},
            {"type": "notice", "messages": 1, "segments": 1, "cost": nok("0.45")},
        ],
    }
    assert len(answer["data"]) == 4


async def test_pages_follow_the_send_order_and_the_figures_cover_the_period(
    client: httpx.AsyncClient, clinic: ClinicAccess
) -> None:
    ids = [(await queue(client, clinic, moment))["id"] for moment in (WEDNESDAY, TUESDAY)]
    ids += [(await queue(client, clinic, TUESDAY))["id"]]
    seen: list[str] = []
    cursor = None
    for _ in range(4):
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = await outbox(client, clinic, "2026-12-01", "2026-12-02", **params)
        assert page["totals"]["messages"] == 3
        seen += [item["message"]["id"] for item in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen[:2]) == sorted(ids[1:])
    assert seen[2:] == ids[:1]


async def test_only_the_clinics_own_messages_and_a_flag_when_sms_is_off(
    client: httpx.AsyncClient, clinic: ClinicAccess, other_clinic: ClinicAccess
) -> None:
    mine = await queue(client, clinic, TUESDAY)
    await queue(client, other_clinic, TUESDAY)
    answer = await outbox(client, clinic, "2026-12-01", "2026-12-01")
    assert [item["message"]["id"] for item in answer["data"]] == [mine["id"]]
    assert answer["totals"]["messages"] == 1

    await client.patch("/v1/settings", headers=clinic.headers, json={"sms_enabled": False})
    assert (await outbox(client, clinic, "2026-12-01", "2026-12-01"))["sms_enabled"] is False


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-12-02", "to": "2026-12-01"}, "to"),
        ({"from": "2026-12-01", "to": "2027-03-04"}, "to"),  # 94 days
        ({"from": "2026-13-01", "to": "2026-12-01"}, "from"),
        ({"from": "2026-12-01", "to": "i morgen"}, "to"),
        ({"to": "2026-12-01"}, "from"),
        ({"from": "2026-12-01", "to": "2026-12-01", "cursor": "tull"}, "cursor"),
    ],
)
async def test_a_bad_period_is_a_422_naming_the_field(
    client: httpx.AsyncClient, clinic: ClinicAccess, params: dict[str, str], field: str
) -> None:
    response = await client.get("/v1/outbox", headers=clinic.headers, params=params)
    assert response.status_code == 422, response.text
    assert [error["field"].removeprefix("query.") for error in response.json()["errors"]] == [field]


async def test_93_days_is_allowed(client: httpx.AsyncClient, clinic: ClinicAccess) -> None:
    answer = await outbox(client, clinic, "2026-12-01", "2027-03-03")
    assert len(answer["days"]) == 93
