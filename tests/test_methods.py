"""405 and OPTIONS name every method of the path; a literal path beats a parameter."""

import httpx
import pytest

from tests.conftest import ClinicAccess


@pytest.mark.parametrize(
    ("path", "allow"),
    [
        ("/v1/clinics", "GET, HEAD, OPTIONS, POST"),
        ("/v1/messages/bulk", "OPTIONS, POST"),
    ],
)
async def test_options_lists_every_method_of_the_path(
    client: httpx.AsyncClient, path: str, allow: str
) -> None:
    response = await client.options(path)
    assert response.status_code == 204
    assert response.headers["allow"] == allow


async def test_a_literal_path_with_the_wrong_method_is_405_not_a_bad_id(
    client: httpx.AsyncClient, clinic: ClinicAccess
) -> None:
    response = await client.get("/v1/messages/bulk", headers=clinic.headers)
    assert response.status_code == 405, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["allow"] == "OPTIONS, POST"
    assert response.json()["type"] == "/problems/method-not-allowed"


async def test_a_405_names_the_methods_of_every_route_of_the_path(
    client: httpx.AsyncClient,
) -> None:
    response = await client.delete("/v1/clinics")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD, OPTIONS, POST"


async def test_a_parameter_path_still_routes(
    client: httpx.AsyncClient, clinic: ClinicAccess
) -> None:
    response = await client.get(
        "/v1/messages/00000000-0000-0000-0000-000000000000", headers=clinic.headers
    )
    assert response.status_code == 404
