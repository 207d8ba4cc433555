"""GET/PUT /v1/reminder-rules: defaults until saved, validation naming the field."""

from typing import Any

import httpx
import pytest

from tests.conftest import ClinicAccess

Json = dict[str, Any]

DEFAULTS: Json = {
    "reminder_1": {"enabled": True, "hours_before": 24, "min_lead_hours": 2},
    "reminder_2": {
        "enabled": False,
        "hours_before": 4,
        "min_lead_hours": 2,
        "only_if_unconfirmed": True,
    },
    "reminder_3": {
        "enabled": False,
        "hours_before": 2,
        "min_lead_hours": 2,
        "only_if_unconfirmed": True,
    },
    "booking_confirmation": False,
    "cancellation_confirmation": False,
    "thank_you": {"enabled": False, "hours_after": 2},
    "recall": {
        "enabled": False,
        "interval_months": 12,
        "template_type": "recall",
        "days_before_due": 30,
        "send_hour": 10,
        "repeat_after_days": 30,
        "max_attempts": 2,
        "booking_url": None,
    },
}


async def put_rules(client: httpx.AsyncClient, clinic: ClinicAccess, body: Json) -> httpx.Response:
    return await client.put("/v1/reminder-rules", headers=clinic.headers, json=body)


class TestRules:
    async def test_defaults_until_saved(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        response = await client.get("/v1/reminder-rules", headers=clinic.headers)
        assert response.status_code == 200
        assert response.json() == DEFAULTS | {"updated_at": None}

    async def test_put_replaces_and_left_out_parts_take_defaults(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        phone = {"business_phone": "22 33 44 55"}  # the thank-you's default text needs it
        assert (await client.patch("/v1/settings", headers=clinic.headers, json=phone)).is_success
        body = {
            "reminder_1": {"enabled": True, "hours_before": 72, "min_lead_hours": 24},
            "reminder_2": {"enabled": True, "hours_before": 24},
            "reminder_3": {
                "enabled": True,
                "hours_before": 3,
                "min_lead_hours": 0,
                "only_if_unconfirmed": False,
            },
            "booking_confirmation": True,
            "thank_you": {"enabled": True, "hours_after": 0},
            "recall": {"enabled": True, "interval_months": 6, "template_type": "general"},
        }
        saved = await put_rules(client, clinic, body)
        assert saved.status_code == 200, saved.text
        expected = DEFAULTS | body
        expected["reminder_2"] = {
            "enabled": True,
            "hours_before": 24,
            "min_lead_hours": 2,
            "only_if_unconfirmed": True,
        }
        expected["recall"] = DEFAULTS["recall"] | body["recall"]
        read = (await client.get("/v1/reminder-rules", headers=clinic.headers)).json()
        assert read.pop("updated_at") == "2026-11-30T10:00:00Z"
        assert read == expected
        await put_rules(client, clinic, {})
        again = (await client.get("/v1/reminder-rules", headers=clinic.headers)).json()
        assert {k: v for k, v in again.items() if k != "updated_at"} == DEFAULTS

    async def test_rules_are_per_clinic(
        self, client: httpx.AsyncClient, clinic: ClinicAccess, other_clinic: ClinicAccess
    ) -> None:
        await put_rules(client, clinic, {"booking_confirmation": True})
        other = await client.get("/v1/reminder-rules", headers=other_clinic.headers)
        assert other.json()["booking_confirmation"] is False


BAD_RULES: list[tuple[str, Json, str]] = [
    ("zero hours", {"reminder_1": {"enabled": True, "hours_before": 0}}, "reminder_1.hours_before"),
    (
        "over 30 days",
        {"reminder_1": {"enabled": True, "hours_before": 721}},
        "reminder_1.hours_before",
    ),
    (
        "negative lead",
        {"reminder_1": {"enabled": True, "hours_before": 24, "min_lead_hours": -1}},
        "reminder_1.min_lead_hours",
    ),
    ("missing hours", {"reminder_2": {"enabled": True}}, "reminder_2.hours_before"),
    (
        "reminder 2 before reminder 1",
        {"reminder_2": {"enabled": True, "hours_before": 48}},
        "reminder_2.hours_before",
    ),
    (
        "equal hours",
        {"reminder_2": {"enabled": True, "hours_before": 24}},
        "reminder_2.hours_before",
    ),
    (
        "reminder 3 before reminder 1 with 2 off",
        {"reminder_3": {"enabled": True, "hours_before": 30}},
        "reminder_3.hours_before",
    ),
    (
        "thank-you too late",
        {"thank_you": {"enabled": True, "hours_after": 721}},
        "thank_you.hours_after",
    ),
    ("recall interval", {"recall": {"interval_months": 0}}, "recall.interval_months"),
    ("unknown template", {"recall": {"template_type": "birthday"}}, "recall.template_type"),
    ("negative days before", {"recall": {"days_before_due": -1}}, "recall.days_before_due"),
    ("over a year before", {"recall": {"days_before_due": 366}}, "recall.days_before_due"),
    ("send hour 24", {"recall": {"send_hour": 24}}, "recall.send_hour"),
    ("send hour -1", {"recall": {"send_hour": -1}}, "recall.send_hour"),
    ("repeat after 0 days", {"recall": {"repeat_after_days": 0}}, "recall.repeat_after_days"),
    ("no attempts", {"recall": {"max_attempts": 0}}, "recall.max_attempts"),
    ("six attempts", {"recall": {"max_attempts": 6}}, "recall.max_attempts"),
    ("not a URL", {"recall": {"booking_url": "tannlege.no"}}, "recall.booking_url"),
    ("unknown field", {"reminder_4": {"enabled": True, "hours_before": 1}}, "reminder_4"),
    (
        "reminder 1 always goes",
        {"reminder_1": {"enabled": True, "hours_before": 24, "only_if_unconfirmed": True}},
        "reminder_1.only_if_unconfirmed",
    ),
]


class TestValidation:
    @pytest.mark.parametrize(
        ("body", "field"), [(b, f) for _, b, f in BAD_RULES], ids=[n for n, _, _ in BAD_RULES]
    )
    async def test_422_naming_the_field_and_nothing_saved(
        self, client: httpx.AsyncClient, clinic: ClinicAccess, body: Json, field: str
    ) -> None:
        response = await put_rules(client, clinic, body)
        assert response.status_code == 422, response.text
        assert field in [error["field"] for error in response.json()["errors"]]
        read = await client.get("/v1/reminder-rules", headers=clinic.headers)
        assert read.json()["updated_at"] is None

    async def test_disabled_reminders_are_not_ordered(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        body = {"reminder_2": {"enabled": False, "hours_before": 100}}
        assert (await put_rules(client, clinic, body)).status_code == 200
