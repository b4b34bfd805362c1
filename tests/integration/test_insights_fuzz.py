"""The insights HTTP API under schemathesis (as ``test_fuzz_api`` does for the other
services): no input produces a 5xx."""

from __future__ import annotations

from pathlib import Path

from ikmkit.store.sqlite import SqliteStore
from services.insights.main import definition
from services.insights.settings import InsightsSettings
from tests.support.fuzz import fuzz_service


def test_no_input_produces_a_5xx(kafka: str, tmp_path: Path) -> None:
    settings = InsightsSettings(kafka_bootstrap_servers=kafka, data_dir=tmp_path)
    service = definition(settings, store=SqliteStore(tmp_path / "insights.db"))
    service.consumers = ()
    statuses, failures = fuzz_service(service)
    assert failures == [], "\n".join(failures[:20])
    assert statuses[200] + statuses[201] > 0, statuses
