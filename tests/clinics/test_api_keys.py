import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.clinics.models import ApiKey
from app.clinics.service import hash_api_key
from tests.conftest import ClinicAccess


class TestAdminPaths:
    async def test_create_and_list_clinics(
        self, client: httpx.AsyncClient, admin_headers: dict[str, str]
    ) -> None:
        created = await client.post("/v1/clinics", json={"name": "Klinikk"}, headers=admin_headers)
        assert created.status_code == 201
        listed = await client.get("/v1/clinics", headers=admin_headers)
        assert [c["name"] for c in listed.json()["data"]] == ["Klinikk"]

    async def test_wrong_admin_token_is_401_with_challenge(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/v1/clinics", headers={"Authorization": "Bearer nope-nope"})
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.headers["content-type"] == "application/problem+json"

    async def test_missing_token_is_401(self, client: httpx.AsyncClient) -> None:
        response = await client.post("/v1/clinics", json={"name": "X"})
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"

    async def test_clinic_key_on_admin_path_is_403(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        response = await client.get("/v1/clinics", headers=clinic.headers)
        assert response.status_code == 403
        assert response.json()["status"] == 403

    async def test_key_for_unknown_clinic_is_404(
        self, client: httpx.AsyncClient, admin_headers: dict[str, str]
    ) -> None:
        response = await client.post(
            "/v1/clinics/00000000-0000-0000-0000-000000000000/api-keys", headers=admin_headers
        )
        assert response.status_code == 404

    async def test_bad_clinic_body_is_422_naming_the_field(
        self, client: httpx.AsyncClient, admin_headers: dict[str, str]
    ) -> None:
        response = await client.post(
            "/v1/clinics", json={"name": "", "colour": "blue"}, headers=admin_headers
        )
        assert response.status_code == 422
        fields = {error["field"]: error["reason"] for error in response.json()["errors"]}
        assert set(fields) == {"name", "colour"}
        assert fields["colour"] == "unknown field"


class TestApiKeys:
    async def test_key_is_shown_once_and_stored_hashed(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        sessionmaker: async_sessionmaker[AsyncSession],
    ) -> None:
        async with sessionmaker() as session:
            stored = (await session.execute(select(ApiKey))).scalars().one()
        assert stored.key_hash == hash_api_key(clinic.key)
        assert clinic.key not in stored.key_hash
        assert stored.prefix == clinic.key[:10]
        assert (await client.get("/v1/settings", headers=clinic.headers)).status_code == 200

    async def test_wrong_key_is_401(self, client: httpx.AsyncClient, clinic: ClinicAccess) -> None:
        response = await client.get(
            "/v1/settings", headers={"Authorization": f"Bearer {clinic.key}x"}
        )
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"

    async def test_missing_key_is_401(
        self, client: httpx.AsyncClient, clinic: ClinicAccess
    ) -> None:
        response = await client.get("/v1/settings")
        assert response.status_code == 401

    async def test_revoked_key_stops_working_at_once(
        self, client: httpx.AsyncClient, clinic: ClinicAccess, admin_headers: dict[str, str]
    ) -> None:
        second = await client.post(f"/v1/clinics/{clinic.id}/api-keys", headers=admin_headers)
        second_headers = {"Authorization": f"Bearer {second.json()['key']}"}
        revoked = await client.delete(
            f"/v1/clinics/{clinic.id}/api-keys/{clinic.key_id}", headers=admin_headers
        )
        assert revoked.status_code == 200
        assert revoked.json()["revoked_at"] is not None
        assert "key" not in revoked.json()
        assert (await client.get("/v1/settings", headers=clinic.headers)).status_code == 401
        assert (await client.get("/v1/settings", headers=second_headers)).status_code == 200

    async def test_revoking_another_clinics_key_is_404(
        self,
        client: httpx.AsyncClient,
        clinic: ClinicAccess,
        other_clinic: ClinicAccess,
        admin_headers: dict[str, str],
    ) -> None:
        response = await client.delete(
            f"/v1/clinics/{other_clinic.id}/api-keys/{clinic.key_id}", headers=admin_headers
        )
        assert response.status_code == 404
        assert (await client.get("/v1/settings", headers=clinic.headers)).status_code == 200
