"""A list filter that can match nothing because it is malformed is a 422 naming the parameter
and its rule, as the registry's and insights' filters are, not an empty page: a regional
system asking subsidy for ``?province=99`` or training for ``?status=enroled`` learns of its
mistake instead of reporting zero applications or participants."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from ikmkit.store.sqlite import SqliteStore
from services.subsidy.main import definition as subsidy
from services.subsidy.settings import SubsidySettings
from services.training.main import definition as training
from services.training.settings import TrainingSettings
from tests.support.service import auth_headers, running_service

MINISTRY = auth_headers("ministry")


@pytest.fixture
async def subsidy_client(kafka: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = SubsidySettings(kafka_bootstrap_servers=kafka)
    async with running_service(subsidy(settings, store=SqliteStore(tmp_path / "s.db"))) as s:
        yield s.client


@pytest.fixture
async def training_client(kafka: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = TrainingSettings(kafka_bootstrap_servers=kafka)
    async with running_service(training(settings, store=SqliteStore(tmp_path / "t.db"))) as s:
        yield s.client


async def fields_refused(client: httpx.AsyncClient, path: str, **params: str) -> list[str]:
    response = await client.get(path, params=params, headers=MINISTRY)
    assert response.status_code == 422, (path, params, response.status_code, response.text[:200])
    assert response.headers["content-type"].startswith("application/problem+json")
    return sorted(e["field"] for e in response.json()["errors"])


async def test_subsidy_filters(subsidy_client: httpx.AsyncClient) -> None:
    for province in ("99", "3", "abc", "34 "):
        assert await fields_refused(subsidy_client, "/applications", province=province) == [
            "province"
        ]
        assert await fields_refused(subsidy_client, "/budgets", province=province) == ["province"]
    assert await fields_refused(subsidy_client, "/applications", enterprise="12345") == [
        "enterprise"
    ]
    both = await fields_refused(subsidy_client, "/applications", enterprise="x", province="99")
    assert both == ["enterprise", "province"]
    ok = await subsidy_client.get("/applications", params={"province": "34"}, headers=MINISTRY)
    assert ok.status_code == 200 and ok.json()["items"] == []


async def test_training_filters(training_client: httpx.AsyncClient) -> None:
    refused = await fields_refused(training_client, "/courses/c1/participants", status="enroled")
    assert refused == ["status"]
    assert await fields_refused(training_client, "/mentor-assignments", status="done") == ["status"]
    assert await fields_refused(training_client, "/mentor-assignments", enterprise="1") == [
        "enterprise"
    ]
    ok = await training_client.get(
        "/mentor-assignments", params={"status": "active"}, headers=MINISTRY
    )
    assert ok.status_code == 200, ok.text
