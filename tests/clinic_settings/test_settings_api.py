from typing import Any

import httpx
import pytest

from tests.conftest import ClinicAccess


async def _get(client: httpx.AsyncClient, clinic: ClinicAccess) -> dict[str, Any]:
    response = await client.get("/v1/settings", headers=clinic.headers)
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


class TestDefaults:
    async def test_new_clinic_has_the_defaults(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        body = await _get(client, clinic)
        assert body["sms_enabled"] is True
        assert body["provider"] == "sandbox"
        assert body["country"] == "NO"
        assert body["time_zone"] == "Europe/Oslo"
        assert body["pause_rules"] == {
            "saturday": True,
            "sunday": True,
            "night_start": "21:00:00",
            "night_end": "08:00:00",
        }
        assert body["reminder_policy"] == "all_valid_mobile"
        assert body["include_guardians"] is False
        assert body["max_segments"] == 6
        assert body["reply_window_hours"] == 72
        assert body["retention_days"] == 365
        assert body["currency"] == "NOK"

    async def test_a_sandbox_clinic_is_shown_no_provider_urls(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        assert (await _get(client, clinic))["webhook_urls"] is None

    async def test_webhook_urls_carry_the_clinic_secret_and_answer(
        self, client: httpx.AsyncClient, clinic: ClinicAccess, other_clinic: ClinicAccess
    ) -> None:
        for access in (clinic, other_clinic):
            patch = {"provider": "linkmobility"}
            response = await client.patch("/v1/settings", headers=access.headers, json=patch)
            assert response.status_code == 200, response.text
        mine = (await _get(client, clinic))["webhook_urls"]
        theirs = (await _get(client, other_clinic))["webhook_urls"]
        assert mine["delivery"].startswith("https://sms.example.test/v1/webhooks/linkmobility/")
        assert mine["delivery"].endswith("/delivery")
        assert mine["inbound"].endswith("/inbound")
        assert mine["delivery"] != theirs["delivery"]
        for url in mine.values():
            path = url.removeprefix("https://sms.example.test")
            answer = await client.post(path, json={"id": "r1", "resultCode": 1001})
            assert answer.status_code != 404, (path, answer.text)


class TestUpdate:
    async def test_put_replaces_and_patch_changes_only_what_is_sent(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        put = await client.put(
            "/v1/settings",
            headers=clinic.headers,
            json={
                "provider": "linkmobility",
                "sender_name": "TannBerg",
                "reply_number": "+4790012345",
                "business_phone": "22 33 44 55",
                "time_zone": "Europe/Stockholm",
                "pause_rules": {"saturday": False, "night_start": "22:00", "night_end": "07:30"},
                "reminder_policy": "opted_in_only",
                "include_guardians": True,
                "price_per_segment": "0.45",
                "max_segments": 4,
                "reply_window_hours": 48,
            },
        )
        assert put.status_code == 200, put.text
        body = put.json()
        assert body["business_phone"] == "+4722334455"
        assert body["pause_rules"]["saturday"] is False
        assert body["pause_rules"]["sunday"] is True
        assert body["webhook_urls"]["delivery"].split("/")[5] == "linkmobility"

        patch = await client.patch(
            "/v1/settings",
            headers=clinic.headers,
            json={"max_segments": 3, "pause_rules": {"sunday": False}},
        )
        assert patch.status_code == 200, patch.text
        body = patch.json()
        assert body["max_segments"] == 3
        assert body["pause_rules"] == {
            "saturday": False,
            "sunday": False,
            "night_start": "22:00:00",
            "night_end": "07:30:00",
        }
        assert body["sender_name"] == "TannBerg"
        assert body["reply_window_hours"] == 48

    async def test_night_pause_can_be_switched_off(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        response = await client.patch(
            "/v1/settings",
            headers=clinic.headers,
            json={"pause_rules": {"night_start": None, "night_end": None}},
        )
        assert response.status_code == 200
        assert response.json()["pause_rules"]["night_start"] is None


class TestCredentials:
    async def test_credentials_are_write_only(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        response = await client.patch(
            "/v1/settings",
            headers=clinic.headers,
            json={
                "provider": "sinch",
                "provider_credentials": {
                    "sinch": {"service_plan_id": "plan-1", "api_token": "very-secret-token"}
                },
            },
        )
        assert response.status_code == 200
        assert "very-secret-token" not in response.text
        assert response.json()["credentials_set"]["sinch"] == ["api_token", "service_plan_id"]
        assert (
            "very-secret-token"
            not in (await client.get("/v1/settings", headers=clinic.headers)).text
        )

    async def test_put_without_credentials_keeps_them_and_null_clears_one(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        await client.patch(
            "/v1/settings",
            headers=clinic.headers,
            json={
                "provider_credentials": {
                    "twilio": {
                        "account_sid": "AC0123456789abcdef0123456789abcdef",
                        "auth_token": "t",
                    }
                }
            },
        )
        kept = await client.put("/v1/settings", headers=clinic.headers, json={"provider": "twilio"})
        assert kept.json()["credentials_set"]["twilio"] == ["account_sid", "auth_token"]
        cleared = await client.patch(
            "/v1/settings",
            headers=clinic.headers,
            json={"provider_credentials": {"twilio": {"auth_token": None}}},
        )
        assert cleared.json()["credentials_set"]["twilio"] == ["account_sid"]

    async def test_a_wrong_account_sid_is_422_naming_the_rule_not_the_value(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        response = await client.patch(
            "/v1/settings",
            headers=clinic.headers,
            json={"provider_credentials": {"twilio": {"account_sid": "ACnot-a-sid-but-a-secret"}}},
        )
        assert response.status_code == 422
        [error] = response.json()["errors"]
        assert error["field"] == "provider_credentials.twilio.account_sid"
        assert "AC followed by 32 hexadecimal digits" in error["reason"]
        assert "not-a-sid-but-a-secret" not in response.text
        shown = await client.get("/v1/settings", headers=clinic.headers)
        assert shown.json()["credentials_set"]["twilio"] == []


BAD_VALUES = [
    ("sender_name", "ThisIsTooLong", "sender_name"),
    ("sender_name", "1Tann", "sender_name"),
    ("sender_name", "T", "sender_name"),
    ("sender_name", "Tann Berg", "sender_name"),
    ("reply_number", "90012345", "reply_number"),
    ("reply_number", "+4712", "reply_number"),
    ("business_phone", "12", "business_phone"),
    ("time_zone", "Europe/Bergen", "time_zone"),
    ("time_zone", "UTC+1", "time_zone"),
    ("country", "XX", "country"),
    ("provider", "telenor", "provider"),
    ("reminder_policy", "sometimes", "reminder_policy"),
    ("include_guardians", "maybe", "include_guardians"),
    ("sms_enabled", None, "sms_enabled"),
    ("price_per_segment", "-1", "price_per_segment"),
    ("currency", "kroner", "currency"),
    ("max_segments", 0, "max_segments"),
    ("max_segments", 21, "max_segments"),
    ("max_segments", "many", "max_segments"),
    ("reply_window_hours", 0, "reply_window_hours"),
    ("retention_days", 29, "retention_days"),
    ("retention_days", 3651, "retention_days"),
    ("pause_rules", {"night_start": "21:00", "night_end": None}, "pause_rules"),
    ("pause_rules", {"night_start": "25:00"}, "pause_rules.night_start"),
    ("pause_rules", {"weekdays": True}, "pause_rules.weekdays"),
    # Pause times are the clinic's wall clock: an offset has no meaning there.
    ("pause_rules", {"night_start": "21:00:00Z", "night_end": "08:00"}, "pause_rules.night_start"),
    ("pause_rules", {"night_start": "21:00", "night_end": "08:00+01:00"}, "pause_rules.night_end"),
    ("pause_rules", {"night_start": "21:00:00.5", "night_end": "08:00"}, "pause_rules.night_start"),
    ("pause_rules", {"night_start": "21:00", "night_end": 0}, "pause_rules.night_end"),
    ("pause_rules", None, "pause_rules"),
    ("provider_credentials", {"sinch": {"password": "x"}}, "provider_credentials.sinch.password"),
    *[
        (
            "provider_credentials",
            {provider: {name: value}},
            f"provider_credentials.{provider}.{name}",
        )
        for provider, name, value in [
            ("twilio", "account_sid", "AC1"),  # AC + 32 hex digits (Twilio error 21470)
            ("twilio", "account_sid", "SK0123456789abcdef0123456789abcdef"),
            ("twilio", "account_sid", "AC0123456789abcdef0123456789abcdeg"),
            ("twilio", "auth_token", " 0123456789abcdef0123456789abcdef"),
            ("twilio", "webhook_shared_key", "two words"),
            ("sinch", "service_plan_id", "plan/../other"),
            ("sinch", "api_token", "token\n"),
            ("sinch", "callback_secret", ""),
            ("linkmobility", "username", "user\u0000"),
            ("linkmobility", "password", "pass "),
            ("linkmobility", "platform_id", "COMMON API"),
            ("linkmobility", "gate_id", "x" * 257),
        ]
    ],
    ("colour", "blue", "colour"),
]


class TestBadInput:
    @pytest.mark.parametrize("method", ["put", "patch"])
    @pytest.mark.parametrize(
        ("field", "value", "error_field"), BAD_VALUES, ids=[f"{f}={v!r}" for f, v, _ in BAD_VALUES]
    )
    async def test_bad_value_is_422_naming_the_field_and_nothing_is_stored(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        method: str,
        field: str,
        value: object,
        error_field: str,
    ) -> None:
        before = await _get(client, clinic)
        response = await client.request(
            method.upper(),
            "/v1/settings",
            headers=clinic.headers,
            json={"max_segments": 2, field: value},
        )
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["status"] == 422
        assert problem["type"] == "/problems/validation-error"
        assert error_field in [error["field"] for error in problem["errors"]]
        assert await _get(client, clinic) == before

    async def test_the_schema_states_the_local_time_pattern(
        self, client: httpx.AsyncClient
    ) -> None:
        spec = (await client.get("/openapi.json")).json()
        rules = spec["components"]["schemas"]["PauseRules"]["properties"]
        for name in ("night_start", "night_end"):
            (local_time,) = [s for s in rules[name]["anyOf"] if s.get("type") == "string"]
            assert local_time["pattern"] == "^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$"
            assert "format" not in local_time  # format: time requires an offset

    async def test_malformed_json_is_422(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        response = await client.patch(
            "/v1/settings",
            headers={**clinic.headers, "Content-Type": "application/json"},
            content=b'{"max_segments": 3,',
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["code"] == "json_invalid"

    async def test_wrong_body_type_is_422(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        response = await client.put("/v1/settings", headers=clinic.headers, json=[1, 2])
        assert response.status_code == 422


class TestIsolation:
    async def test_each_clinic_sees_and_changes_only_its_own_settings(
        self, client: httpx.AsyncClient, clinic: ClinicAccess, other_clinic: ClinicAccess
    ) -> None:
        await client.patch("/v1/settings", headers=clinic.headers, json={"max_segments": 2})
        assert (await _get(client, clinic))["max_segments"] == 2
        assert (await _get(client, other_clinic))["max_segments"] == 6
