"""A query parameter a route does not declare is a 422, not silently ignored (a client
sending `?preview=true` where it is unknown must not get a real send)."""

from fastapi import Request, params
from fastapi.dependencies.utils import get_flat_params
from fastapi.routing import APIRoute

from app.core.errors import FieldError, InvalidInput

# Providers add their own parameters to the URLs we give them; their routes read what
# they need and take the rest.
_OPEN_PREFIX = "/v1/webhooks/"


def _declared(route: APIRoute) -> frozenset[str]:
    return frozenset(
        field.alias
        for field in get_flat_params(route.dependant)
        if isinstance(field.field_info, params.Query)
    )


async def refuse_unknown_query_parameters(request: Request) -> None:
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or route.path.startswith(_OPEN_PREFIX):
        return
    unknown = sorted(set(request.query_params) - _declared(route))
    if unknown:
        errors = [
            FieldError(
                field=f"query.{name}", reason="unknown query parameter", code="unknown_parameter"
            )
            for name in unknown
        ]
        raise InvalidInput("unknown query parameter: " + ", ".join(unknown), errors=errors)
