import json
from pathlib import Path

from fastapi import FastAPI

PUBLISHED = Path(__file__).resolve().parent.parent / "openapi" / "openapi.json"


def test_published_contract_matches_the_app(app: FastAPI) -> None:
    published = json.loads(PUBLISHED.read_text())
    assert published == app.openapi(), "openapi/openapi.json is stale: run `make openapi`"
