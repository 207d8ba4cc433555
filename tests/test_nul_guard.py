"""A NUL character in any text is a 422 naming where it was, never a database 500."""

import httpx

from tests.conftest import ClinicAccess

PATIENT = {"first_name": "Kari", "last_name": "Nordmann", "mobile": "912 34 567"}


async def put_raw(client: httpx.AsyncClient, clinic: ClinicAccess, body: bytes) -> httpx.Response:
    return await client.put(
        "/v1/patients/1001",
        headers=clinic.headers | {"Content-Type": "application/json"},
        content=body,
    )


async def test_a_nul_in_a_json_body_is_a_422_and_nothing_is_stored(
    client: httpx.AsyncClient, clinic: ClinicAccess
) -> None:
    body = b'{"first_name": "Ka\\u0000ri", "last_name": "Nordmann", "mobile": "912 34 567"}'
    response = await put_raw(client, clinic, body)
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert (error["field"], error["code"]) == ("first_name", "nul_character")
    assert (await client.get("/v1/patients/1001", headers=clinic.headers)).status_code == 404


async def test_a_nul_in_the_path_or_query_is_a_422(
    client: httpx.AsyncClient, clinic: ClinicAccess
) -> None:
    response = await client.put("/v1/patients/10%0001", headers=clinic.headers, json=PATIENT)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "path"
    listed = await client.get("/v1/patients?q=Kari%00", headers=clinic.headers)
    assert listed.status_code == 422, listed.text
    assert listed.json()["errors"][0]["field"] == "query"


async def test_a_backslash_and_u0000_typed_as_text_are_kept(
    client: httpx.AsyncClient, clinic: ClinicAccess
) -> None:
    body = b'{"first_name": "Kari \\\\u0000", "last_name": "Nordmann", "mobile": "912 34 567"}'
    response = await put_raw(client, clinic, body)
    assert response.status_code == 201, response.text
    assert response.json()["first_name"] == "Kari \\u0000"


async def test_a_body_in_another_encoding_than_utf8_is_a_422(
    client: httpx.AsyncClient, clinic: ClinicAccess
) -> None:
    """json.loads reads UTF-16 too, and its NULs would pass a UTF-8 byte check."""
    body = '{"first_name": "Ka\\u0000ri", "last_name": "N", "mobile": "912 34 567"}'
    response = await put_raw(client, clinic, body.encode("utf-16"))
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["code"] == "not_utf8"
