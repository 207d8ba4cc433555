"""A rule that is on can always be carried out: switching one on, or changing the settings or
a template, so that an enabled rule's template needs a value its messages would not have is
a 422 naming the value, and nothing is stored."""

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.reminder_rules.models import ReminderRules
from app.reminder_rules.readiness import Gap, gaps
from app.templates.defaults import DEFAULT_TEMPLATES, TemplateType
from tests.conftest import ClinicAccess

Json = dict[str, Any]
DEFAULT_TEXTS = {
    template_type: default.text for template_type, default in DEFAULT_TEMPLATES.items()
}


async def _rules(client: httpx.AsyncClient, clinic: ClinicAccess) -> Json:
    response = await client.get("/v1/reminder-rules", headers=clinic.headers)
    body: Json = response.json()
    return body


async def _settings(client: httpx.AsyncClient, clinic: ClinicAccess) -> Json:
    body: Json = (await client.get("/v1/settings", headers=clinic.headers)).json()
    return body


async def _put_rules(
    client: httpx.AsyncClient, clinic: ClinicAccess, **rules: Any
) -> httpx.Response:
    return await client.put("/v1/reminder-rules", headers=clinic.headers, json=rules)


async def _patch(client: httpx.AsyncClient, clinic: ClinicAccess, **fields: Any) -> httpx.Response:
    return await client.patch("/v1/settings", headers=clinic.headers, json=fields)


def _refusal(response: httpx.Response, field: str, missing: str) -> Json:
    assert response.status_code == 422, response.text
    problem: Json = response.json()
    assert problem["missing_values"] == [missing]
    assert [error["field"] for error in problem["errors"]] == [field]
    assert all(error["code"] == "missing_value" for error in problem["errors"])
    assert missing in problem["detail"]
    return problem


class TestSwitchingARuleOn:
    @pytest.mark.parametrize(
        ("rules", "field", "rule"),
        [
            (
                {"cancellation_confirmation": True},
                "cancellation_confirmation",
                "cancellation_confirmation",
            ),
            ({"thank_you": {"enabled": True}}, "thank_you.enabled", "thank_you"),
            ({"recall": {"enabled": True}}, "recall.enabled", "recall"),
        ],
    )
    async def test_needing_the_business_phone_a_new_clinic_lacks_is_422(
        self, client: httpx.AsyncClient, clinic: ClinicAccess, rules: Json, field: str, rule: str
    ) -> None:
        before = await _rules(client, clinic)
        problem = _refusal(await _put_rules(client, clinic, **rules), field, "business_phone")
        assert problem["rules"] == [rule]
        assert "[Businessphone]" in problem["errors"][0]["reason"]
        assert await _rules(client, clinic) == before

    async def test_with_the_business_phone_it_is_saved(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        assert (await _patch(client, clinic, business_phone="22 33 44 55")).status_code == 200
        response = await _put_rules(
            client, clinic, cancellation_confirmation=True, thank_you={"enabled": True}
        )
        assert response.status_code == 200, response.text

    async def test_every_gap_is_named_at_once(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        text = {"text": "Hei [Mottaker]! Se [URL] eller ring [Businessphone]", "allow_reply": True}
        saved = await client.put("/v1/templates/reminder_2", headers=clinic.headers, json=text)
        assert saved.status_code == 200  # reminder 2 is off: any text will do
        response = await _put_rules(
            client,
            clinic,
            reminder_2={"enabled": True, "hours_before": 4},
            cancellation_confirmation=True,
        )
        assert response.status_code == 422
        problem = response.json()
        assert problem["missing_values"] == ["[URL]", "business_phone"]
        assert sorted(e["field"] for e in problem["errors"]) == [
            "cancellation_confirmation",
            "reminder_2.enabled",
            "reminder_2.enabled",
        ]

    async def test_a_recall_has_no_appointment_time(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        response = await _put_rules(
            client, clinic, recall={"enabled": True, "template_type": "reminder_1"}
        )
        assert response.status_code == 422
        problem = response.json()
        assert problem["missing_values"] == ["[Behandler]", "[Tidspunkt]"]
        assert "no appointment" in problem["errors"][0]["reason"]


class TestChangingTheSettings:
    async def test_removing_a_business_phone_an_enabled_rule_needs_is_422(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        assert (await _patch(client, clinic, business_phone="22 33 44 55")).status_code == 200
        assert (await _put_rules(client, clinic, cancellation_confirmation=True)).status_code == 200
        before = await _settings(client, clinic)
        problem = _refusal(
            await _patch(client, clinic, business_phone=None), "business_phone", "business_phone"
        )
        assert problem["rules"] == ["cancellation_confirmation"]
        assert await _settings(client, clinic) == before
        read_only = ("credentials_set", "webhook_urls", "webhook_setup", "secondary_webhook_urls")
        whole = {k: v for k, v in before.items() if k not in read_only}
        put = await client.put(
            "/v1/settings", headers=clinic.headers, json=whole | {"business_phone": None}
        )
        _refusal(put, "business_phone", "business_phone")
        assert await _settings(client, clinic) == before

    async def test_removing_it_with_the_rule_off_is_fine(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        assert (await _patch(client, clinic, business_phone="22 33 44 55")).status_code == 200
        assert (await _patch(client, clinic, business_phone=None)).status_code == 200

    async def test_a_gap_from_before_does_not_block_an_unrelated_change(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
    ) -> None:
        """A clinic that switched the rule on before the check existed can still save other
        settings, and fixes the gap by setting the phone."""
        assert (await _put_rules(client, clinic, booking_confirmation=True)).status_code == 200
        async with sessionmaker.begin() as session:
            await session.execute(
                update(ReminderRules)
                .where(ReminderRules.clinic_id == clinic.id)  # type: ignore[arg-type]
                .values(cancellation_confirmation=True)
            )
        assert (await _patch(client, clinic, max_segments=3)).status_code == 200
        assert (await _patch(client, clinic, business_phone="22 33 44 55")).status_code == 200


class TestChangingATemplate:
    async def test_a_field_an_enabled_rule_cannot_fill_is_422(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        """Reminder 1 is on by default; no caller gives an automatic reminder its [URL]."""
        path = "/v1/templates/reminder_1"
        before = (await client.get(path, headers=clinic.headers)).json()
        body = {"text": "Hei [Mottaker]! Se [URL] [Tidspunkt]", "allow_reply": True}
        problem = _refusal(
            await client.put(path, headers=clinic.headers, json=body), "text", "[URL]"
        )
        assert problem["rules"] == ["reminder_1"]
        assert (await client.get(path, headers=clinic.headers)).json() == before

    async def test_a_reset_to_a_default_needing_the_phone_is_422(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        path = "/v1/templates/cancellation_confirmation"
        assert (await _patch(client, clinic, business_phone="22 33 44 55")).status_code == 200
        assert (await _put_rules(client, clinic, cancellation_confirmation=True)).status_code == 200
        own = {"text": "Hei [Mottaker]! Timen [Tidspunkt] er avbestilt.", "allow_reply": False}
        assert (await client.put(path, headers=clinic.headers, json=own)).status_code == 200
        assert (await _patch(client, clinic, business_phone=None)).status_code == 200
        reset = await client.post(f"{path}/reset", headers=clinic.headers)
        _refusal(reset, "text", "business_phone")
        assert (await client.get(path, headers=clinic.headers)).json()["text"] == own["text"]


def _rules_row(**switches: Any) -> ReminderRules:
    return ReminderRules(clinic_id=uuid.uuid4(), **switches)


class TestGaps:
    def test_the_defaults_of_a_new_clinic_have_none(self) -> None:
        assert gaps(_rules_row(), DEFAULT_TEXTS, business_phone=None) == []

    def test_every_rule_on_with_a_phone_has_none(self) -> None:
        rules = _rules_row(
            reminder_2_enabled=True,
            reminder_3_enabled=True,
            booking_confirmation=True,
            cancellation_confirmation=True,
            thank_you_enabled=True,
            recall_enabled=True,
        )
        assert gaps(rules, DEFAULT_TEXTS, business_phone="+4722334455") == []

    def test_without_a_phone(self) -> None:
        rules = _rules_row(thank_you_enabled=True, recall_enabled=True)
        assert gaps(rules, DEFAULT_TEXTS, business_phone=None) == [
            Gap("thank_you", TemplateType.THANK_YOU, "Businessphone"),
            Gap("recall", TemplateType.RECALL, "Businessphone"),
        ]
