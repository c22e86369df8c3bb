"""Declare in the OpenAPI document every error status each route can answer, with its body.

FastAPI documents what a route declares and a 422 in its own shape; the refusals the app's
guards add (401, 403, 413, 429, 503) and the 422 body this app really sends
(:class:`api.schemas.errors.ValidationErrorOut`) are added here, route by route, from what the
route depends on. Statuses only a route knows about (404, 409...) it declares itself with
``responses={404: {"description": ...}}``; the body schema is filled in here. The schema fuzz
test (tests/api/http/test_openapi_fuzz.py) holds the document to the answers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel

from api.core.permissions import PUBLIC
from api.http.deps import OPENAPI_PERMISSION_KEY, get_client
from api.schemas.errors import ErrorOut, FieldErrorOut, ValidationErrorOut

_COMPONENTS = "#/components/schemas/{model}"
_ERROR_REF = {"$ref": _COMPONENTS.format(model=ErrorOut.__name__)}
_VALIDATION_REF = {"$ref": _COMPONENTS.format(model=ValidationErrorOut.__name__)}
# FastAPI's own 422 schemas, which this app never sends.
_FASTAPI_VALIDATION = ("HTTPValidationError", "ValidationError")
_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again",
        "schema": {"type": "string"},
    }
}

AUTHENTICATED = {
    401: "No API key, or one that is not valid, revoked or expired",
    403: "The key's roles do not grant this route's permission",
    429: "The key has used up its rate limit (see Retry-After)",
}
EVERY_ROUTE = {
    413: "The request body is larger than STEWARD_MAX_BODY_BYTES",
    422: "The request is not valid: every offending field is named",
}
WITH_BODY = {400: "The body could not be read: JSON must be UTF-8"}
TEMPORAL = {503: "Temporal, or a worker, cannot be reached now; try again later"}


def _depends_on(dependant: Dependant, call: Callable[..., Any]) -> bool:
    return any(sub.call is call or _depends_on(sub, call) for sub in dependant.dependencies)


def error_statuses(route: APIRoute) -> dict[int, str]:
    """Return the error statuses the app's guards may answer on ``route``, with why."""
    statuses = dict(EVERY_ROUTE)
    if route.body_field is not None:
        statuses.update(WITH_BODY)
    if (route.openapi_extra or {}).get(OPENAPI_PERMISSION_KEY) != PUBLIC:
        statuses.update(AUTHENTICATED)
    if _depends_on(route.dependant, get_client):
        statuses.update(TEMPORAL)
    return statuses


def _schema_of(*models: type[BaseModel]) -> dict[str, Any]:
    components: dict[str, Any] = {}
    for model in models:
        schema = model.model_json_schema(ref_template=_COMPONENTS)
        components.update(schema.pop("$defs", {}))
        components[model.__name__] = schema
    return components


def _declare(operation: dict[str, Any], statuses: dict[int, str]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    for status, description in statuses.items():
        responses.setdefault(str(status), {"description": description})
    for code, response in responses.items():
        if not code.isdigit() or int(code) < 400:
            continue
        body = _VALIDATION_REF if code == "422" else _ERROR_REF
        content = response.setdefault("content", {})
        json_body = content.setdefault("application/json", {})
        schema = json_body.get("schema", {})
        if not schema or schema.get("$ref", "").endswith(_FASTAPI_VALIDATION[0]):
            json_body["schema"] = body
        if code in {"429", "503"}:
            response.setdefault("headers", _RETRY_AFTER)


def install_error_responses(app: FastAPI) -> None:
    """Make ``app.openapi()`` declare each route's error statuses and their bodies."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        document = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        for context in iter_route_contexts(app.routes):
            route = context.original_route
            operations = document["paths"].get(context.path_format or "", {})
            if not isinstance(route, APIRoute) or not operations:
                continue
            statuses = error_statuses(route)
            for method in context.methods or ():
                if method.lower() in operations:
                    _declare(operations[method.lower()], statuses)
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        for name in _FASTAPI_VALIDATION:
            schemas.pop(name, None)
        schemas.update(_schema_of(ErrorOut, FieldErrorOut, ValidationErrorOut))
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]
