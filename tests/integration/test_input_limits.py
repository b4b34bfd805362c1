"""No single input halts a flow, and no input produces a 500 (issue #11, items 4 and 9).

Against the real registry and subsidy services (SQLite store, embedded broker): a body over
the cap is 413 naming the limit and stores nothing; an oversized list or field is 422 naming
the field and the rule; a lone surrogate is 422 naming the field; a fiscal year past 2^63 is
422; an internationalised e-mail local part is refused at the door (it could never be sent),
while an internationalised domain is kept in its ASCII form.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from ikmkit.store.sqlite import SqliteStore
from services.registry.main import definition as registry_definition
from services.registry.settings import RegistrySettings
from services.subsidy.main import definition as subsidy_definition
from services.subsidy.settings import SubsidySettings
from tests.support.registry_api import MINISTRY, enterprise_body
from tests.support.service import RunningService, auth_headers, running_service
from tests.support.values import random_nib

MIB = 1024 * 1024


@pytest.fixture(scope="module")
async def registry(
    kafka: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[RunningService]:
    store = SqliteStore(tmp_path_factory.mktemp("registry") / "registry.db")
    async with running_service(
        registry_definition(RegistrySettings(kafka_bootstrap_servers=kafka), store=store)
    ) as service:
        yield service


@pytest.fixture(scope="module")
async def subsidy(
    kafka: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[RunningService]:
    store = SqliteStore(tmp_path_factory.mktemp("subsidy") / "subsidy.db")
    async with running_service(
        subsidy_definition(SubsidySettings(kafka_bootstrap_servers=kafka), store=store)
    ) as service:
        yield service


def only_error(response: Any) -> dict[str, Any]:
    (error,) = response.json()["errors"]
    return dict(error)


async def test_a_5_mb_body_is_413_naming_the_limit_and_stores_nothing(
    registry: RunningService,
) -> None:
    nib = random_nib()
    body = enterprise_body(nib, street="x" * (5 * 1000 * 1000))
    r = await registry.client.post("/enterprises", json=body, headers=MINISTRY)
    assert r.status_code == 413, r.text
    error = r.json()
    assert error["limit_bytes"] == MIB and "errors" not in error
    assert f"{MIB} bytes (1 MiB)" in error["detail"]
    assert (await registry.client.get(f"/enterprises/{nib}", headers=MINISTRY)).status_code == 404


async def test_a_1_mb_shop_url_patch_by_the_enterprise_is_refused(
    registry: RunningService,
) -> None:
    nib = random_nib()
    r = await registry.client.post("/enterprises", json=enterprise_body(nib), headers=MINISTRY)
    assert r.status_code == 201, r.text
    owner = auth_headers("enterprise", nib=nib)
    huge = {"platform": "shopee", "shop_url": "https://shopee.co.id/" + "a" * 1_200_000}
    patch = {"version": 1, "marketplace_stores": [huge]}
    r = await registry.client.patch(f"/enterprises/{nib}", json=patch, headers=owner)
    assert r.status_code == 413, r.text
    long = {"platform": "shopee", "shop_url": "https://shopee.co.id/" + "a" * 3000}
    patch = {"version": 1, "marketplace_stores": [long]}
    r = await registry.client.patch(f"/enterprises/{nib}", json=patch, headers=owner)
    assert r.status_code == 422, r.text
    error = only_error(r)
    assert error["loc"] == ["body", "marketplace_stores", 0, "shop_url"]
    assert error["rule"] == "string_too_long" and error["context"] == {"max_length": 2048}


async def test_40000_products_are_422_naming_the_field(registry: RunningService) -> None:
    body = enterprise_body(random_nib(), products=["batik"] * 40_000)
    r = await registry.client.post("/enterprises", json=body, headers=MINISTRY)
    assert r.status_code == 422, r.text
    error = only_error(r)
    assert error["loc"] == ["body", "products"]
    assert error["rule"] == "too_long" and error["context"]["max_length"] == 200


@pytest.mark.parametrize(
    ("field", "value"),
    [("street", "x" * 2001), ("name", "x" * 201), ("campaigns", ["#tag"] * 201)],
)
async def test_every_free_text_and_list_field_has_a_maximum(
    registry: RunningService, field: str, value: Any
) -> None:
    body = enterprise_body(random_nib(), **{field: value})
    r = await registry.client.post("/enterprises", json=body, headers=MINISTRY)
    assert r.status_code == 422, r.text
    assert only_error(r)["loc"] == ["body", field]


async def test_a_lone_surrogate_is_422_naming_the_field(registry: RunningService) -> None:
    body = enterprise_body(random_nib(), street="Jl. Malioboro \udcff")
    raw = __import__("json").dumps(body).encode()  # json escapes it: "\udcff", valid JSON
    r = await registry.client.post(
        "/enterprises",
        content=raw,
        headers={**MINISTRY, "content-type": "application/json"},
    )
    assert r.status_code == 422, r.text
    error = only_error(r)
    assert error["loc"] == ["body", "street"] and error["rule"] == "invalid.unicode"


async def test_surrogates_in_query_and_path_are_not_500(registry: RunningService) -> None:
    r = await registry.client.get("/enterprises?province=%ED%B3%BF", headers=MINISTRY)
    assert r.status_code == 422, r.text
    r = await registry.client.get("/enterprises/%ED%B3%BF", headers=MINISTRY)
    assert r.status_code in (404, 422), r.text


@pytest.mark.parametrize("path", ["/budgets", "/programs", "/stats"])
async def test_a_huge_fiscal_year_is_422(subsidy: RunningService, path: str) -> None:
    for year in ("9223372036854775808", "-72313124344525553664", "1999", "2101"):
        r = await subsidy.client.get(f"{path}?fiscal_year={year}", headers=MINISTRY)
        assert r.status_code == 422, r.text
        assert only_error(r)["loc"] == ["query", "fiscal_year"]
    r = await subsidy.client.get(f"{path}?fiscal_year=2026", headers=MINISTRY)
    assert r.status_code == 200, r.text


async def test_an_internationalised_local_part_is_refused_at_the_door(
    registry: RunningService,
) -> None:
    body = enterprise_body(random_nib(), owner_email="pémilik@contoh.id")
    r = await registry.client.post("/enterprises", json=body, headers=MINISTRY)
    assert r.status_code == 422, r.text
    error = only_error(r)
    assert error["loc"] == ["body", "owner_email"]
    assert error["rule"] == "invalid.email_smtputf8"


async def test_an_internationalised_domain_is_kept_in_ascii(registry: RunningService) -> None:
    nib = random_nib()
    body = enterprise_body(nib, owner_email="pemilik@bücher.id")
    r = await registry.client.post("/enterprises", json=body, headers=MINISTRY)
    assert r.status_code == 201, r.text
    assert r.json()["owner_email"] == "pemilik@xn--bcher-kva.id"
