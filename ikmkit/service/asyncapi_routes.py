"""``GET /asyncapi.json`` and ``GET /asyncapi``: the service's AsyncAPI 3.0 document and a page.

Next to ``/docs`` (the HTTP API), these describe the service's Kafka traffic: what it
publishes, what each of its consumer groups reads (as the running consumers report it, so
the document cannot drift from what the process subscribed) and where each group parks
what it cannot process. The page is rendered here, as plain HTML: no script and nothing
loaded from elsewhere, so it reads the same on a network that reaches no CDN.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse

from contracts.asyncapi import ConsumerGroup, asyncapi_document
from ikmkit.service.asyncapi_page import render_page

router = APIRouter(include_in_schema=False)


def service_document(request: Request) -> dict[str, Any]:
    """The AsyncAPI document of the app's service and its running consumer groups."""
    name: str = request.app.state.definition.name
    runtime = getattr(request.app.state, "runtime", None)
    consumers = runtime.consumers if runtime is not None else []
    groups = [ConsumerGroup(c.group, tuple(c.topics)) for c in consumers]
    return asyncapi_document(name, groups)


@router.get("/asyncapi.json")
async def asyncapi_json(request: Request) -> JSONResponse:
    return JSONResponse(service_document(request))


@router.get("/asyncapi", response_class=HTMLResponse)
async def asyncapi_page(request: Request) -> HTMLResponse:
    return HTMLResponse(render_page(service_document(request)))
