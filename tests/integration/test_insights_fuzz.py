"""The insights HTTP API under schemathesis (as ``test_fuzz_api`` does for the other
services): no input produces a 5xx."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from schemathesis.openapi import from_dict

from ikmkit.store.sqlite import SqliteStore
from services.insights.main import definition
from services.insights.settings import InsightsSettings
from tests.support.fuzz import fuzz_operation, serving


def test_no_input_produces_a_5xx(kafka: str, tmp_path: Path) -> None:
    settings = InsightsSettings(kafka_bootstrap_servers=kafka, data_dir=tmp_path)
    service = definition(settings, store=SqliteStore(tmp_path / "insights.db"))
    service.consumers = ()
    with serving(service) as (base_url, openapi):
        schema = from_dict(openapi)
        failures: list[str] = []
        statuses: Counter[int] = Counter()
        for result in schema.get_all_operations():
            statuses += fuzz_operation(result.ok(), base_url, failures)
    assert failures == [], "\n".join(failures[:20])
    assert statuses[200] + statuses[201] > 0, statuses
