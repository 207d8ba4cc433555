"""Which methods a path takes, said the same way on a 405 and an OPTIONS.

The router tries routes in order, so `GET /v1/messages/bulk` would match
`/v1/messages/{message_id}` (and fail as a bad id) and a 405 would name the methods of
the first partly matching route only. Here a literal segment beats a parameter, and the
Allow header lists the methods of every route of the path. The routes are read from the
app itself: building the OpenAPI document for this would cost a fresh app 0.3-0.7 s on
its first request.
"""

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping

from fastapi.routing import iter_route_contexts
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from app.core.errors import problem_response

_PARAMETER = re.compile(r"\{[^}/]+\}")


class PathMethods:
    def __init__(self, paths: Mapping[str, frozenset[str]]) -> None:
        self._paths = [
            (_pattern(template), len(_PARAMETER.findall(template)), methods)
            for template, methods in paths.items()
        ]

    def allowed(self, path: str) -> frozenset[str]:
        """The methods of the most specific templates (fewest parameters) matching."""
        matching = [
            (params, methods) for regex, params, methods in self._paths if regex.match(path)
        ]
        if not matching:
            return frozenset()
        fewest = min(params for params, _ in matching)
        return frozenset().union(*(methods for params, methods in matching if params == fewest))


def _pattern(template: str) -> re.Pattern[str]:
    literal_parts = _PARAMETER.split(template)
    return re.compile("[^/]+".join(re.escape(part) for part in literal_parts) + r"\Z")


def route_methods(routes: Iterable[BaseRoute]) -> dict[str, frozenset[str]]:
    """Each path template with the methods of all its routes (HEAD comes with GET)."""
    methods: defaultdict[str, set[str]] = defaultdict(set)
    for route in iter_route_contexts(list(routes)):
        if route.path_format and route.methods:
            methods[route.path_format] |= route.methods
    return {
        path: frozenset(found | ({"HEAD"} if "GET" in found else set()))
        for path, found in methods.items()
    }


class AllowedMethods:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._paths: PathMethods | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self._paths is None:
            self._paths = PathMethods(route_methods(scope["app"].routes))
        allowed = self._paths.allowed(scope["path"])
        method = scope["method"]
        if not allowed or method in allowed:
            await self.app(scope, receive, send)
            return
        header = {"Allow": ", ".join(sorted(allowed | {"OPTIONS"}))}
        if method == "OPTIONS":
            await Response(status_code=204, headers=header)(scope, receive, send)
            return
        detail = f"{method} is not allowed here; allowed: {header['Allow']}"
        response = problem_response(
            405, "method-not-allowed", "Method not allowed", detail, headers=header
        )
        await response(scope, receive, send)
