"""The insights service on a real broker: registry, training and subsidy events produced to
Kafka become indicators over HTTP; targets, progress and the export; and
``ikm audit rebuild insights`` rebuilds every projection from the log with no difference.

It runs on its own embedded broker: the rebuild replays the whole log of its topics."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from contracts.subsidy import SubsidyApplied, SubsidyApproved
from contracts.training import CourseScheduled
from ikm_cli.audit_rebuild import rebuild
from ikm_cli.main import app
from ikmdev.infra import EmbeddedKafka
from ikmkit.store.sqlite import SqliteStore
from services.insights.main import definition
from services.insights.settings import InsightsSettings
from services.insights.store import COUNTS, MEMBERS
from tests.support.insights_feed import (
    MARCH,
    MAY,
    allocated,
    application,
    enrolled,
    link_and_match,
    partner,
    registered,
)
from tests.support.kafka import eventually, produce_event
from tests.support.service import auth_headers, running_service

MINISTRY = auth_headers("ministry")
JABAR = auth_headers("regional", province="32")


@pytest.fixture(scope="module")
def insights_kafka() -> Iterator[str]:
    broker = EmbeddedKafka().start()
    yield broker.bootstrap_servers
    broker.stop()


def events() -> list[Any]:
    webinar = CourseScheduled(
        course_id="web-1",
        title="Webinar Kemasan",
        kind="webinar",
        organizer_id="ditjen-ikma",
        start_date=date(2026, 5, 4),
        end_date=date(2026, 5, 4),
        province="32",
        capacity=500,
        scheduled_by="officer",
        scheduled_at=MARCH,
    )
    subsidy = {"kbli": "10792", "line_count": 1, "eligible_cost_rupiah": 100_000_000}
    return [
        allocated("32", 100_000_000),
        allocated(None, 20_000_000),
        registered("1234567890001"),
        registered("1234567890002"),
        registered("1234567890003", province="33", regency="3374"),
        partner("smk-1", "vocational_school"),
        partner("co-1", "company", "33"),
        link_and_match("mou-1", "smk-1", "co-1"),
        webinar,
        enrolled(1, course="web-1"),
        enrolled(2, course="web-1", country="TL"),
        application(
            SubsidyApplied,
            **subsidy,
            requested_rebate_rupiah=30_000_000,
            applied_by="x",
            applied_at=MARCH,
        ),
        application(
            SubsidyApproved,
            eligible_cost_rupiah=100_000_000,
            rebate_rupiah=30_000_000,
            budget_id="prog-1:32",
            budget_pool="province",
            approved_by="x",
            approved_at=MAY,
        ),
    ]


async def test_events_become_indicators_targets_progress_and_a_clean_rebuild(
    insights_kafka: str, tmp_path: Path
) -> None:
    for event in events():
        await produce_event(insights_kafka, event)
    store = SqliteStore(tmp_path / "insights.db")
    service = definition(InsightsSettings(kafka_bootstrap_servers=insights_kafka), store=store)
    async with running_service(service) as ins:
        client = ins.client

        async def total(indicator: str, **params: Any) -> int:
            response = await client.get(
                f"/indicators/{indicator}",
                params={"fiscal_year": 2026, **params},
                headers=MINISTRY,
            )
            assert response.status_code == 200, response.text
            return int(response.json()["total"])

        async def approved() -> bool:
            return await total("subsidy.reserved_rupiah") == 30_000_000

        await eventually(approved, timeout=60)
        assert await total("enterprises.registered") == 3
        assert await total("enterprises.registered", province="32", regency="3273") == 2
        assert await total("linkmatch.smk") == 1
        assert await total("linkmatch.companies") == 1
        assert await total("linkmatch.agreements") == 1
        assert await total("webinars.held") == 1
        assert await total("webinars.participants") == 2
        assert await total("subsidy.applications") == 1
        assert await total("subsidy.applications", **{"from": "2026-04", "to": "2026-12"}) == 0
        assert await total("enterprises.registered", by="regency") == 3
        assert await total("subsidy.allocated_rupiah") == 120_000_000
        use = await client.get(
            "/indicators/subsidy.budget_use",
            params={"fiscal_year": 2026, "by": "province"},
            headers=JABAR,
        )
        assert use.status_code == 200, use.text
        assert (use.json()["unit"], use.json()["total"], use.json()["points"]) == (
            "percent",
            30.0,  # 30 of the province's 100 million
            [{"key": "32", "value": 30.0}],
        )

        listing = (await client.get("/indicators", headers=MINISTRY)).json()
        assert len(listing["items"]) == 31
        by_country = await client.get(
            "/indicators/participants.enrolled",
            params={"fiscal_year": 2026, "by": "dimension", "dimension": "country"},
            headers=MINISTRY,
        )
        assert {p["key"]: p["value"] for p in by_country.json()["points"]} == {
            "country:ID": 1,
            "country:TL": 1,
        }

        # targets: ministry only; progress against them
        body = {"indicator": "enterprises.registered", "fiscal_year": 2026, "province": "32"}
        refused = await client.post("/targets", json={**body, "value": 4}, headers=JABAR)
        assert refused.status_code == 403
        created = await client.post("/targets", json={**body, "value": 4}, headers=MINISTRY)
        assert created.status_code == 201, created.text
        assert created.json()["target_id"] == "enterprises.registered|2026|32|-"
        progress = await client.get(
            "/progress", params={"fiscal_year": 2026, "province": "32"}, headers=JABAR
        )
        assert progress.status_code == 200
        [row] = progress.json()["items"]
        assert (row["actual"], row["target"], row["percent"]) == (2, 4, 50.0)
        other = await client.get("/progress", params={"province": "33"}, headers=JABAR)
        assert other.status_code == 403
        for role, claims in (
            ("enterprise", {"nib": "1234567890001"}),
            ("partner", {"partner_id": "p"}),
        ):
            denied = await client.get("/indicators", headers=auth_headers(role, **claims))  # type: ignore[arg-type]
            assert denied.status_code == 403

        provinces = await client.get(
            "/provinces",
            params={"fiscal_year": 2026, "indicators": "enterprises.registered"},
            headers=MINISTRY,
        )
        rows = {r["province"]: r for r in provinces.json()["items"]}
        assert rows["32"]["values"] == {"enterprises.registered": 2}
        assert rows["32"]["progress"]["enterprises.registered"]["target"] == 4

        exported = await client.get(
            "/export", params={"fiscal_year": 2026, "province": "32"}, headers=MINISTRY
        )
        assert exported.headers["content-type"].startswith("text/csv")
        lines = list(csv.DictReader(io.StringIO(exported.text)))
        assert {"indicator": "enterprises.registered", "province": "32", "regency": "3273",
                "month": "2026-03", "value": "2"} in lines  # fmt: skip
        xlsx = await client.get(
            "/export", params={"fiscal_year": 2026, "format": "xlsx"}, headers=MINISTRY
        )
        sheet = load_workbook(io.BytesIO(xlsx.content)).active
        assert sheet is not None
        assert [c.value for c in sheet[1]] == ["indicator", "province", "regency", "month", "value"]
        assert sheet.max_row == len(list(csv.DictReader(io.StringIO(
            (await client.get("/export", params={"fiscal_year": 2026}, headers=MINISTRY)).text
        )))) + 1  # fmt: skip

        report = await rebuild(
            "insights", insights_kafka, store, definition=ins.app.state.definition, workdir=tmp_path
        )
        assert report.dead_lettered == []
        assert report.compared[COUNTS][0] > 0
        assert report.compared[COUNTS][0] == report.compared[COUNTS][1]
        assert report.compared[MEMBERS] == (2, 2)
        assert report.differences == [], report.differences
        assert report.clean, report.stream_differences

    # the same check as an operator runs it, on the store the stopped service left
    result = await asyncio.to_thread(
        CliRunner().invoke,
        app,
        ["audit", "rebuild", "insights", "--kafka", insights_kafka],
        env={"IKM_DATA_DIR": str(tmp_path), "MONGODB_URL": ""},
    )
    assert result.exit_code == 0, (result.output, repr(result.exception))
    assert "no differences" in result.output
