"""Delivery reports taken ahead of the framework.

After a large send, providers post thousands of reports a second, one per request. The
work per report is small (parse, hand to the intake); FastAPI's routing, dependency
injection and the `BaseHTTPMiddleware` request log cost several times more. This plain
ASGI middleware answers `POST /v1/webhooks/{provider}/{secret}/delivery` itself with the
same handler as the documented route, and renders errors as the same problem details.
Everything else passes through untouched.
"""

import logging
import re

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from app.core.errors import AppError, app_error_response, problem_response
from app.webhooks.router import take_delivery_reports

logger = logging.getLogger(__name__)

DELIVERY_PATH = re.compile(r"/v1/webhooks/(?P<provider>[^/]+)/(?P<secret>[^/]+)/delivery")


class DeliveryReportFastPath:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = (
            DELIVERY_PATH.fullmatch(scope["path"])
            if scope["type"] == "http" and scope["method"] == "POST"
            else None
        )
        if match is None:
            await self.app(scope, receive, send)
            return
        response = await _answer(Request(scope, receive), match["provider"], match["secret"])
        await response(scope, receive, send)


async def _answer(request: Request, provider: str, secret: str) -> Response:
    try:
        return await take_delivery_reports(request, provider, secret)
    except AppError as exc:
        return app_error_response(exc)
    except Exception:
        logger.exception("unhandled error taking delivery reports", extra={"provider": provider})
        return problem_response(500, "internal-error", "Internal server error", None)
