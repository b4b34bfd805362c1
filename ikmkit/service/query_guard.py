"""A query parameter the route does not take is refused (422 ``extra_forbidden`` naming it),
not ignored: a filter spelled wrong is a silent wrong answer (``GET /applications?nib=``,
whose filter is ``enterprise``, listed every application; an officer's ``provinse=34``, the
national figures). The route's own query parameters are checked in the same answer.

``refuse_unknown_query`` is a dependency of every route of a service's app
(``create_service_app``); a request without a query string costs it one look.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import request_params_to_args
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel


async def refuse_unknown_query(request: Request) -> None:
    if not request.scope.get("query_string"):
        return
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    fields, names = _taken_by(route)
    query = request.query_params
    unknown = [name for name in dict.fromkeys(query.keys()) if name not in names]
    if not unknown:
        return
    taken = ", ".join(sorted(names)) or "none"
    errors: list[Any] = [
        {
            "type": "extra_forbidden",
            "loc": ("query", name),
            "msg": f"this route takes no such query parameter (it takes: {taken})",
            "input": None,
        }
        for name in unknown
    ]
    _, own = request_params_to_args(fields, query)
    raise RequestValidationError(errors + list(own))


_TAKEN = "_ikm_query_taken"


def _taken_by(route: APIRoute) -> tuple[list[Any], frozenset[str]]:
    """The route's query fields and their names, kept on the route (routes do not hash)."""
    taken: tuple[list[Any], frozenset[str]] | None = getattr(route, _TAKEN, None)
    if taken is None:
        fields = list(_query_fields(route.dependant))
        taken = (fields, frozenset(_names(fields)))
        setattr(route, _TAKEN, taken)
    return taken


def _query_fields(dependant: Dependant) -> Iterable[Any]:
    yield from dependant.query_params
    for sub in dependant.dependencies:
        yield from _query_fields(sub)


def _names(fields: Iterable[Any]) -> Iterable[str]:
    for field in fields:
        model = field.field_info.annotation
        if isinstance(model, type) and issubclass(model, BaseModel):  # a query model
            yield from (f.alias or name for name, f in model.model_fields.items())
        else:
            yield field.alias
