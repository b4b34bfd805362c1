"""A query parameter the route does not take is refused (422 ``extra_forbidden`` naming it),
not ignored: a filter spelled wrong is a silent wrong answer (``GET /applications?nib=``,
whose filter is ``enterprise``, listed every application; an officer's ``provinse=34``, the
national figures). A parameter that takes one value given twice is refused too
(``repeated_parameter``), where the router would keep the last. The route's own query
parameters are checked in the same answer.

``refuse_unknown_query`` is a dependency of every route of a service's app
(``create_service_app``); a request without a query string costs it one look.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any, get_args, get_origin

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import request_params_to_args
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel

REPEATED = "repeated_parameter"
RULES = frozenset({REPEATED})
"""The rule this module names itself (``invalid.repeated_parameter``); an unknown parameter is
pydantic's own ``extra_forbidden``, as an undeclared body field is."""


async def refuse_unknown_query(request: Request) -> None:
    if not request.scope.get("query_string"):
        return
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    fields, names, lists = _taken_by(route)
    query = request.query_params
    given = Counter(name for name, _ in query.multi_items())
    errors = [_unknown(name, names) for name in given if name not in names]
    errors += [
        _repeated(name, times)
        for name, times in given.items()
        if times > 1 and name in names and name not in lists
    ]
    if errors:
        _, own = request_params_to_args(fields, query)
        raise RequestValidationError(errors + list(own))


def _unknown(name: str, names: frozenset[str]) -> dict[str, Any]:
    taken = ", ".join(sorted(names)) or "none"
    message = f"this route takes no such query parameter (it takes: {taken})"
    return {"type": "extra_forbidden", "loc": ("query", name), "msg": message, "input": None}


def _repeated(name: str, times: int) -> dict[str, Any]:
    # The router would keep the last one: ?province=34&province=35 answered for 35 alone.
    message = f"given {times} times; this parameter takes one value"
    return {"type": REPEATED, "loc": ("query", name), "msg": message, "input": None}


_TAKEN = "_ikm_query_taken"


Taken = tuple[list[Any], frozenset[str], frozenset[str]]


def _taken_by(route: APIRoute) -> Taken:
    """The route's query fields, their names and those taking several values, kept on the
    route (routes do not hash)."""
    taken: Taken | None = getattr(route, _TAKEN, None)
    if taken is None:
        fields = list(_query_fields(route.dependant))
        named = list(_names(fields))
        lists = frozenset(name for name, annotation in named if _is_list(annotation))
        taken = (fields, frozenset(name for name, _ in named), lists)
        setattr(route, _TAKEN, taken)
    return taken


def _query_fields(dependant: Dependant) -> Iterable[Any]:
    yield from dependant.query_params
    for sub in dependant.dependencies:
        yield from _query_fields(sub)


def _names(fields: Iterable[Any]) -> Iterable[tuple[str, Any]]:
    for field in fields:
        model = field.field_info.annotation
        if isinstance(model, type) and issubclass(model, BaseModel):  # a query model
            yield from ((f.alias or name, f.annotation) for name, f in model.model_fields.items())
        else:
            yield field.alias, model


def _is_list(annotation: Any) -> bool:
    kinds = [annotation, *get_args(annotation)]  # Optional[list[str]] too
    return any(get_origin(kind) in (list, set, tuple, frozenset) for kind in kinds)
