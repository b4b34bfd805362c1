"""A consumed event writes no log line of its own at the default level: FastStream logs
"Received" and "Processed" for every message (a batch, here) at the broker's log level, which
at INFO put two lines in the logs per event at a steady trickle (millions over the campaign's
1.6 million registrations, burying the service's own lines). They are DEBUG now; a failure
FastStream sees is still an ERROR line."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from ikmkit.store.sqlite import SqliteStore
from services.subsidy.main import definition as subsidy
from services.subsidy.settings import SubsidySettings
from tests.support.service import running_service
from tests.support.subsidy_replica import registered_through_kafka
from tests.support.values import random_nib


class Kept(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def broker_log() -> Iterator[Kept]:
    """The subsidy broker logger's records, whatever the level (a service's start replaces
    the root logger's handlers, pytest's capture included)."""
    logger, kept = logging.getLogger("ikm.subsidy.broker"), Kept()
    level = logger.level
    logger.addHandler(kept)
    logger.setLevel(logging.DEBUG)
    yield kept
    logger.removeHandler(kept)
    logger.setLevel(level)


async def test_consumed_events_write_no_info_line_each(
    kafka: str, tmp_path: Path, broker_log: Kept
) -> None:
    settings = SubsidySettings(kafka_bootstrap_servers=kafka)
    async with running_service(subsidy(settings, store=SqliteStore(tmp_path / "s.db"))) as s:
        nibs = [random_nib() for _ in range(5)]
        await registered_through_kafka(kafka, s.runtime.store, nibs, 30)
    per_message = [r for r in broker_log.records if r.getMessage() in ("Received", "Processed")]
    assert per_message, "FastStream's per-message lines are still written, at DEBUG"
    assert {r.levelno for r in per_message} == {logging.DEBUG}
