"""``LeanRoute`` answers the registry's JSON writes exactly as FastAPI's own handler did.

Two registry services on the real broker and SQLite, one with the routes' handlers as FastAPI
builds them (``APIRoute.get_route_handler``), one with ``LeanRoute``'s; the same requests to
both: status, headers and body bytes equal (values that differ by nature, the registration
time and a new MoU's id, replaced in both), and the stored records and outbox rows equal."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute

from ikmkit.auth import issue_token
from ikmkit.messaging.outbox import OUTBOX
from ikmkit.service.instance import INSTANCE_HEADER
from ikmkit.service.lean_route import LeanRoute, _Plan
from ikmkit.service.settings import DEV_JWT_SECRET
from ikmkit.store.sqlite import SqliteStore
from services.registry.main import definition
from services.registry.settings import RegistrySettings
from services.registry.store import ENTERPRISES
from tests.support.registry_api import enterprise_body, mou_body
from tests.support.service import RunningService, auth_headers, running_service

_VOLATILE = re.compile(
    rb'"(registered_at|updated_at|onboarded_at|mou_id|id)":"[^"]*"'
    rb"|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?"
)


@asynccontextmanager
async def _service(kafka: str, path: Any, *, lean: bool) -> AsyncIterator[RunningService]:
    store = SqliteStore(path)
    settings = RegistrySettings(kafka_bootstrap_servers=kafka)
    async with AsyncExitStack() as stack:
        with pytest.MonkeyPatch.context() as patch:  # only while the app is built
            if not lean:  # the handlers FastAPI builds, as before LeanRoute
                patch.setattr(LeanRoute, "get_route_handler", APIRoute.get_route_handler)
            running = running_service(definition(settings, store=store))
            service = await stack.enter_async_context(running)
            # FastAPI builds an included router's handlers at its first request
            assert (await service.client.get("/stats")).status_code == 401
        yield service


def _same(old: httpx.Response, new: httpx.Response) -> None:
    assert new.status_code == old.status_code, new.text
    keep = {"content-type", "content-length"}
    assert [(k, v) for k, v in new.headers.items() if k in keep] == [
        (k, v) for k, v in old.headers.items() if k in keep
    ]
    assert _VOLATILE.sub(b"*", new.content) == _VOLATILE.sub(b"*", old.content)


_MINISTRY = auth_headers("ministry")
_JSON = {**_MINISTRY, "content-type": "application/json"}

_REQUESTS: list[tuple[str, dict[str, str], bytes]] = [
    ("/enterprises", _JSON, json.dumps(enterprise_body("1000000000001")).encode()),
    ("/enterprises", _JSON, json.dumps(enterprise_body("1000000000001")).encode()),  # 409
    ("/enterprises", _JSON, json.dumps(enterprise_body("1000000000002", campaigns=[])).encode()),
    ("/enterprises", _JSON, json.dumps(enterprise_body("12", workforce=-1)).encode()),
    ("/enterprises", _JSON, json.dumps(enterprise_body(province="99")).encode()),
    ("/enterprises", _JSON, json.dumps({"nib": "1000000000003"}).encode()),
    ("/enterprises", _JSON, b'{"nib": '),
    ("/enterprises", _JSON, b"[]"),
    ("/enterprises", _JSON, b"null"),
    ("/enterprises", _JSON, b""),
    ("/enterprises", _JSON, b"\xff\xfe"),
    ("/enterprises", {**_MINISTRY, "content-type": "text/plain"}, b"{}"),
    ("/enterprises", _MINISTRY, json.dumps(enterprise_body("1000000000004")).encode()),
    (
        "/enterprises",
        {**_MINISTRY, "content-type": "application/json; charset=utf-8"},
        json.dumps(enterprise_body("1000000000005")).encode(),
    ),
    ("/enterprises", {"content-type": "application/json"}, json.dumps(enterprise_body()).encode()),
    (
        "/enterprises",
        {"content-type": "application/json", "authorization": "Bearer nonsense"},
        json.dumps(enterprise_body()).encode(),
    ),
    ("/enterprises", {"content-type": "application/json"}, b"{"),  # no token, bad JSON: 401
    (
        "/enterprises",
        {**auth_headers("regional_officer", province="34"), "content-type": "application/json"},
        json.dumps(enterprise_body("1000000000006", province="32", regency="3201")).encode(),
    ),
    (
        "/enterprises",
        {**auth_headers("enterprise"), "content-type": "application/json"},
        json.dumps(enterprise_body("1000000000007")).encode(),
    ),
    ("/partners", _JSON, json.dumps({"partner_id": "p-lean-1"}).encode()),
    (
        "/partners",
        _JSON,
        json.dumps(
            {"partner_id": "p-lean-2", "name": "PII", "partner_type": "association"}
        ).encode(),
    ),
    ("/mous", _JSON, json.dumps(mou_body("p-none")).encode()),
    (
        "/enterprises/import",
        _JSON,
        json.dumps({"rows": [enterprise_body("1000000000008")]}).encode(),
    ),
    ("/enterprises/import", _JSON, json.dumps({"rows": [{"nib": "x"}]}).encode()),
]


async def test_lean_answers_equal_fastapis(
    kafka: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    lean_answers = _count_lean(monkeypatch)
    statuses: list[int] = []
    async with (
        _service(kafka, tmp_path / "old.db", lean=False) as old,
        _service(kafka, tmp_path / "new.db", lean=True) as new,
    ):
        for path, headers, body in _REQUESTS:
            answers = []
            for name, service in (("old", old), ("new", new)):
                _count_lean.current = name  # type: ignore[attr-defined]
                answers.append(await service.client.post(path, headers=headers, content=body))
            _same(*answers)
            statuses.append(answers[1].status_code)
        assert not any(lean_answers["old"])  # FastAPI's handlers there
        lean = [s for s, took in zip(statuses, lean_answers["new"], strict=True) if took]
        # every JSON body that parses, lean here: valid ones of callers who may (201, 200,
        # 409, the domain's 422), those of callers without a valid token (401) before their
        # body is validated, and bodies failing validation (pydantic's 422)
        assert sorted(lean) == [200, 200, 201, 201, 201, 401, 401, 401, 401, 409, *[422] * 6]
        stored = [await _stored(s) for s in (old, new)]
    assert stored[0] == stored[1]
    assert len(stored[0][0]) == 4  # the registrations above that succeed


def _count_lean(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[bool]]:
    """Per request each service's routes answered: whether ``LeanRoute``'s own path answered
    it (False: it handed it to FastAPI's handler); none for a route FastAPI answers alone."""
    taken: dict[str, list[bool]] = {"old": [], "new": []}
    handler = _Plan.handler

    def counting(plan: _Plan, full: Any) -> Any:
        async def delegated(request: Any) -> Any:
            request.scope["test.delegated"] = True
            return await full(request)

        lean = handler(plan, delegated)

        async def counted(request: Any) -> Any:
            try:
                return await lean(request)
            finally:
                answered = not request.scope.get("test.delegated", False)
                taken[_count_lean.current].append(answered)  # type: ignore[attr-defined]

        return counted

    monkeypatch.setattr(_Plan, "handler", counting)
    return taken


_count_lean.current = "old"  # type: ignore[attr-defined]


async def _stored(service: RunningService) -> tuple[list[Any], list[Any]]:
    store = service.runtime.store
    assert store is not None
    async with store.transaction(read_only=True) as tx:
        enterprises = (await tx.find(ENTERPRISES, {}, limit=100)).items
        rows = (await tx.find(OUTBOX, {}, limit=100)).items
    volatile = ("registered_at", "updated_at", "created_ns", "headers", "payload", "id")
    return (
        sorted(({k: v for k, v in e.items() if k not in volatile} for e in enterprises), key=str),
        sorted(_outbox_shape(r) for r in rows),
    )


def _outbox_shape(row: dict[str, Any]) -> str:
    """The row as the unit of work wrote it, its time, id, hash and trace blanked."""
    blank = {"ce_id", "ce_time", "ce_hash", "traceparent"}
    headers = {k: v for k, v in row["headers"].items() if k not in blank}
    payload = _VOLATILE.sub(b"*", str(row["payload"]).encode()).decode()
    written = {"headers": headers, "payload": payload, "names": sorted(row["headers"])}
    where = {k: row[k] for k in ("topic", "key", "sequence")}  # not what the relay adds
    return json.dumps({**written, **where}, sort_keys=True)


@pytest.mark.parametrize("route", ["/enterprises", "/partners", "/mous", "/enterprises/import"])
def test_registry_writes_are_lean(route: str) -> None:
    from services.registry.api import router

    found = [r for r in router.routes if getattr(r, "path", None) == route]
    assert found and all(isinstance(r, LeanRoute) for r in found)


def _same_headers(old: httpx.Response, new: httpx.Response) -> None:
    """Every header, in order, equal: the instance header's value names each service."""
    assert [k for k, _ in new.headers.items()] == [k for k, _ in old.headers.items()]
    assert [(k, v) for k, v in new.headers.items() if k != INSTANCE_HEADER] == [
        (k, v) for k, v in old.headers.items() if k != INSTANCE_HEADER
    ]
    assert new.headers[INSTANCE_HEADER] and old.headers[INSTANCE_HEADER]


def _expired() -> dict[str, str]:
    token = issue_token(DEV_JWT_SECRET, subject="t", role="ministry", ttl_seconds=-3600)
    return {"authorization": f"Bearer {token}", "content-type": "application/json"}


def _json(body: Any) -> bytes:
    return json.dumps(body).encode()


_DEEP = b"[" * 100_000 + b"]" * 100_000
_EDGES: list[tuple[str, dict[str, str], bytes]] = [
    ("/enterprises", _JSON, _DEEP),  # too deep for json: FastAPI's 400, never a 500
    ("/enterprises", _JSON, b'{"nib": "1000000000011", "street": ' + _DEEP + b"}"),
    ("/enterprises", {**_JSON, "content-type": "application/JSON"}, _json(enterprise_body())),
    (
        "/enterprises",
        {**_JSON, "content-type": "application/merge-patch+json"},
        _json(enterprise_body("1000000000012")),
    ),
    ("/enterprises", {**_JSON, "content-type": "text/plain"}, _json(enterprise_body())),
    ("/enterprises", _JSON, b"\xef\xbb\xbf" + _json(enterprise_body("1000000000013"))),
    (
        "/enterprises",
        _JSON,
        _json(enterprise_body("1000000000014"))[:-1] + b', "workforce": 1e400}',
    ),
    ("/enterprises", _JSON, _json(enterprise_body("1000000000015"))[:-1] + b', "nib": "1"}'),
    ("/enterprises", _JSON, _json(enterprise_body("1000000000016", workforce=10**30))),
    ("/enterprises", _JSON, b'{"workforce": ' + b"9" * 5000 + b"}"),
    ("/enterprises", _JSON, b'{"nib": "\xff\xfe"}'),
    ("/enterprises", _JSON, b'{"nib": "1000000000017", "name": "a\\udcff"}'),  # the door's 422
    ("/enterprises", _JSON, b"{" + b" " * (1024 * 1024) + b"}"),  # over the limit: 413
    ("/enterprises", _JSON, _json(enterprise_body("1000000000018", regency="3201"))),  # domain
    ("/enterprises", _expired(), _json(enterprise_body("1000000000019"))),
    ("/enterprises", {**_JSON, "authorization": "Basic x"}, _json(enterprise_body())),
    ("/enterprises", _JSON, _json(enterprise_body("1000000000020"))),  # 201
    (
        "/enterprises",
        {**auth_headers("regional", province="34"), "content-type": "application/json"},
        _json(enterprise_body("1000000000021", province="32", regency="3201")),  # 403
    ),
    (
        "/enterprises",
        {**auth_headers("regional", province="32"), "content-type": "application/json"},
        _json(enterprise_body("1000000000022", province="32", regency="3201")),  # 201
    ),
    (
        "/enterprises",
        {**auth_headers("regional", province="34"), "content-type": "application/json"},
        _json(enterprise_body("1000000000023", province="32", regency="1")),  # 403 or 422
    ),
    ("/partners", _JSON, _json({"partner_id": "p-lean-1", "partner_type": "nonsense"})),
    ("/mous", _JSON, _json(mou_body("p-none", valid_until="2000-01-01"))),
]


async def test_edge_cases_answer_as_fastapi(kafka: str, tmp_path: Any) -> None:
    async with (
        _service(kafka, tmp_path / "old.db", lean=False) as old,
        _service(kafka, tmp_path / "new.db", lean=True) as new,
    ):
        seen: list[int] = []
        for path, headers, body in _EDGES:
            answers = [await s.client.post(path, headers=headers, content=body) for s in (old, new)]
            _same(*answers)
            _same_headers(*answers)
            assert answers[1].status_code < 500, answers[1].text
            seen.append(answers[1].status_code)
        for method in ("HEAD", "OPTIONS", "GET", "PUT"):
            answers = [
                await s.client.request(method, "/partners", headers=_JSON) for s in (old, new)
            ]
            _same(*answers)
            _same_headers(*answers)
        stored = [await _stored(s) for s in (old, new)]
    assert stored[0] == stored[1]
    assert {201, 400, 401, 403, 413, 422} - set(seen) == set(), seen
