"""Insights queries an adversarial review found answered imprecisely (session 22): an unknown
indicator named in a query parameter, and a series' months out of range or out of order, are
each a 422 naming the parameter and the rule (not a 404 for a resource that the path does not
name, nor a 3 MB series of every month from year 1 to 9999)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ikmkit.store.sqlite import SqliteStore
from services.insights.main import definition
from services.insights.settings import InsightsSettings
from tests.support.service import auth_headers, running_service

MINISTRY = auth_headers("ministry")


@pytest.fixture
async def client(kafka: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = InsightsSettings(kafka_bootstrap_servers=kafka, data_dir=tmp_path)
    service = definition(settings, store=SqliteStore(tmp_path / "insights.db"))
    service.consumers = ()
    async with running_service(service) as running:
        yield running.client


async def errors_of(client: httpx.AsyncClient, path: str, **params: Any) -> list[tuple[str, str]]:
    response = await client.get(path, params=params, headers=MINISTRY)
    assert response.status_code == 422, response.text[:300]
    assert response.headers["content-type"].startswith("application/problem+json")
    return [(e["field"], e["rule"]) for e in response.json()["errors"]]


async def test_unknown_indicators_in_a_query_are_a_422_naming_each(
    client: httpx.AsyncClient,
) -> None:
    unknown = await errors_of(client, "/provinces", indicators="mous.signed,nope,nada")
    assert unknown == [("indicators", "invalid.indicator_unknown")] * 2
    unknown = await errors_of(client, "/progress", indicator="nope")
    assert unknown == [("indicator", "invalid.indicator_unknown")]
    r = await client.get("/indicators/nope", headers=MINISTRY)  # the path names it: 404
    assert r.status_code == 404


async def test_a_series_months_lie_in_the_platforms_years_and_in_order(
    client: httpx.AsyncClient,
) -> None:
    path = "/indicators/enterprises.registered"
    wide = await errors_of(client, path, **{"from": "0001-01", "to": "9999-12"})
    assert wide == [("from", "invalid.month_out_of_range"), ("to", "invalid.month_out_of_range")]
    backwards = await errors_of(client, path, **{"from": "2026-05", "to": "2026-01"})
    assert backwards == [("to", "invalid.month_order")]
    budget_use = await errors_of(client, "/indicators/subsidy.budget_use", to="2101-01")
    assert budget_use == [("to", "invalid.month_out_of_range")]
    fullwidth = await client.get(
        path, params={"from": "\uff12\uff10\uff12\uff16-01"}, headers=MINISTRY
    )
    assert fullwidth.status_code == 422 and fullwidth.json()["errors"][0]["field"] == "from"
    fine = await client.get(path, params={"from": "2026-01", "to": "2026-12"}, headers=MINISTRY)
    assert fine.status_code == 200 and len(fine.json()["points"]) == 12


async def test_a_regency_target_of_an_indicator_without_regency_figures_is_refused(
    client: httpx.AsyncClient,
) -> None:
    """Budgets are allocated per province: a regency's target of ``subsidy.allocated_rupiah``
    could never be reached (its actual is always 0), so it is refused as the series refuses
    ``regency`` for it."""
    body = {"indicator": "subsidy.allocated_rupiah", "fiscal_year": 2026, "province": "34"}
    r = await client.post(
        "/targets", json={**body, "regency": "3471", "value": 1}, headers=MINISTRY
    )
    assert r.status_code == 422, r.text[:300]
    assert [(e["field"], e["rule"]) for e in r.json()["errors"]] == [
        ("regency", "invalid.no_regency")
    ]
    provincial = await client.post("/targets", json={**body, "value": 1}, headers=MINISTRY)
    assert provincial.status_code == 201, provincial.text


async def test_filters_that_cannot_hold_together_are_named_not_answered_as_zero(
    client: httpx.AsyncClient,
) -> None:
    """Session 23: months outside the fiscal year asked for were cut off silently (a total of
    0, or of a part of the period), and a dimension the indicator does not have (a typo:
    ``platfrom:tokopedia``) answered 0: an integrator could not tell from a real zero."""
    path = "/indicators/esmart.onboarded"
    outside = await errors_of(
        client, path, fiscal_year=2026, **{"from": "2025-06", "to": "2027-01"}
    )
    assert outside == [
        ("from", "invalid.month_outside_fiscal_year"),
        ("to", "invalid.month_outside_fiscal_year"),
    ]
    typo = await errors_of(client, path, dimension="platfrom:tokopedia")
    assert typo == [("dimension", "invalid.dimension_unknown")]
    both = await errors_of(
        client, "/indicators/subsidy.budget_use", fiscal_year=2026, dimension="kind",
        to="2025-12",
    )  # fmt: skip
    assert both == [
        ("to", "invalid.month_outside_fiscal_year"),
        ("dimension", "invalid.dimension_unknown"),
    ]
    for fine in (
        {"fiscal_year": 2026, "from": "2026-02", "to": "2026-11"},
        {"dimension": "platform:tokopedia"},
        {"by": "dimension", "dimension": "platform"},
        {"from": "2025-06", "to": "2027-01"},  # no fiscal year: any months in order
    ):
        r = await client.get(path, params=fine, headers=MINISTRY)
        assert r.status_code == 200, (fine, r.text[:300])


async def test_a_regency_that_does_not_exist_is_named(client: httpx.AsyncClient) -> None:
    """Session 23: ``regency=3299`` (no such regency in Jawa Barat) answered 0 and could be
    given a target that no event could ever meet."""
    unknown = await errors_of(client, "/indicators/enterprises.registered", regency="3299")
    assert unknown == [("regency", "invalid.regency_unknown")]
    body = {"indicator": "enterprises.registered", "fiscal_year": 2026, "province": "32"}
    r = await client.post(
        "/targets", json={**body, "regency": "3299", "value": 5}, headers=MINISTRY
    )
    assert r.status_code == 422, r.text[:300]
    assert [(e["field"], e["rule"]) for e in r.json()["errors"]] == [
        ("regency", "invalid.regency_unknown")
    ]
    known = await client.post(
        "/targets", json={**body, "regency": "3273", "value": 5}, headers=MINISTRY
    )
    assert known.status_code == 201, known.text
    fine = await client.get(
        "/indicators/enterprises.registered", params={"regency": "3273"}, headers=MINISTRY
    )
    assert fine.status_code == 200
