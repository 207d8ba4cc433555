import secrets

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST

from app.core.config import Settings
from app.core.errors import Unauthorized
from app.metrics.scrape import database_metrics, render

router = APIRouter(tags=["operations"])


def _check_token(request: Request, settings: Settings) -> None:
    if settings.metrics_token is None:
        return
    expected = f"Bearer {settings.metrics_token.get_secret_value()}"
    offered = request.headers.get("authorization", "")
    if not secrets.compare_digest(offered.encode(), expected.encode()):
        raise Unauthorized("GET /metrics needs `Authorization: Bearer <METRICS_TOKEN>`")


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {
            "content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}},
            "description": "Prometheus text",
        }
    },
    summary="Prometheus metrics (bearer METRICS_TOKEN when set)",
)
async def metrics(request: Request) -> Response:
    _check_token(request, request.app.state.settings)
    async with request.app.state.sessionmaker() as session:
        families = await database_metrics(session, request.app.state.clock.now())
    return Response(render(families), media_type=CONTENT_TYPE_LATEST)
