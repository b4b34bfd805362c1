"""A service's consumers join their groups with the configured session timeout and fetch with
the configured wait (the lifespan passes ``KAFKA_SESSION_TIMEOUT_MS`` and
``KAFKA_FETCH_MAX_WAIT_MS`` to every subscriber), on the real broker."""

from __future__ import annotations

from pathlib import Path

from ikmkit.store.sqlite import SqliteStore
from services.subsidy.main import definition as subsidy
from services.subsidy.settings import SubsidySettings
from tests.support.service import running_service


async def test_every_consumer_starts_with_the_configured_session(
    kafka: str, tmp_path: Path
) -> None:
    settings = SubsidySettings(kafka_bootstrap_servers=kafka, kafka_session_timeout_ms=2_500)
    async with running_service(subsidy(settings, store=SqliteStore(tmp_path / "s.db"))) as s:
        assert s.runtime.consumers
        for consumer in s.runtime.consumers:
            options = consumer.subscriber._connection_args
            assert (options["session_timeout_ms"], options["heartbeat_interval_ms"]) == (2_500, 833)
            assert consumer.subscriber.running


async def test_every_consumer_fetches_with_the_configured_wait(kafka: str, tmp_path: Path) -> None:
    settings = SubsidySettings(kafka_bootstrap_servers=kafka, kafka_fetch_max_wait_ms=40)
    async with running_service(subsidy(settings, store=SqliteStore(tmp_path / "s.db"))) as s:
        assert s.runtime.consumers
        for consumer in s.runtime.consumers:
            assert consumer.subscriber._connection_args["fetch_max_wait_ms"] == 40
            assert consumer.subscriber.running
