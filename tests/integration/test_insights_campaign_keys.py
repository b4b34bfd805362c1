"""One campaign, spelled three ways on the log (registry events as regional systems typed
them, one a retyped tag in another case): insights counts each enterprise once under the
campaign's key, and ``ikm audit rebuild insights`` rebuilds the same counts from the log.

Registry and insights run on their own embedded broker: the rebuild replays the whole log."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ikm_cli.audit_rebuild import rebuild
from ikmdev.infra import EmbeddedKafka
from ikmkit.clock import jakarta_date
from ikmkit.store.sqlite import SqliteStore
from services.insights.main import definition as insights_definition
from services.insights.settings import InsightsSettings
from services.insights.store import COUNTS
from services.registry.main import definition as registry_definition
from services.registry.settings import RegistrySettings
from tests.support.kafka import eventually
from tests.support.registry_api import MINISTRY, enterprise_body
from tests.support.service import running_service
from tests.support.values import random_nib


@pytest.fixture
def campaign_kafka() -> Iterator[str]:
    broker = EmbeddedKafka().start()
    yield broker.bootstrap_servers
    broker.stop()


async def test_a_campaign_spelled_three_ways_counts_each_enterprise_once_and_rebuilds(
    campaign_kafka: str, tmp_path: Path
) -> None:
    registry = registry_definition(
        RegistrySettings(kafka_bootstrap_servers=campaign_kafka),
        store=SqliteStore(tmp_path / "registry.db"),
    )
    store = SqliteStore(tmp_path / "insights.db")
    insights = insights_definition(
        InsightsSettings(kafka_bootstrap_servers=campaign_kafka), store=store
    )
    first, second = random_nib(), random_nib()
    async with running_service(registry) as reg, running_service(insights) as ins:
        for nib, tag in ((first, "#SemuanyaAdaDisini"), (second, "semuanyaadadisini")):
            body = enterprise_body(nib, campaigns=[tag])
            answer = await reg.client.post("/enterprises", json=body, headers=MINISTRY)
            assert answer.status_code == 201, answer.text
        retyped = {"version": 1, "campaigns": ["#SEMUANYAADADISINI", "#BanggaBuatanIndonesia"]}
        answer = await reg.client.patch(f"/enterprises/{first}", json=retyped, headers=MINISTRY)
        assert answer.status_code == 200, answer.text

        async def by_campaign() -> dict[str, Any]:
            params = {"by": "dimension", "fiscal_year": jakarta_date(datetime.now(UTC)).year}
            answer = await ins.client.get(
                "/indicators/campaigns.participants", params=params, headers=MINISTRY
            )
            return {p["key"]: p["value"] for p in answer.json()["points"]}

        async def counted() -> bool:  # the PATCH's event handled, whatever its spelling
            return any("bangga" in key.casefold() for key in await by_campaign())

        await eventually(counted, timeout=60)
        assert await by_campaign() == {
            "campaign:#semuanyaadadisini": 2,
            "campaign:#banggabuatanindonesia": 1,
        }
        report = await rebuild(
            "insights", campaign_kafka, store, definition=ins.app.state.definition,
            workdir=tmp_path,
        )  # fmt: skip
        assert report.compared[COUNTS][0] == report.compared[COUNTS][1] > 0
        assert report.differences == [], report.differences
