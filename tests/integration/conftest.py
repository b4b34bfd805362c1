"""Fixtures shared by integration test modules."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ikmdev.infra import EmbeddedKafka


@pytest.fixture(scope="module")
def audit_kafka() -> Iterator[str]:
    """A broker of the test module's own, for tests that forge ikm.* records onto it (the
    audit's: a tampered or missing event there must not reach other modules' consumers)."""
    broker = EmbeddedKafka().start()
    yield broker.bootstrap_servers
    broker.stop()


@pytest.fixture
def own_broker() -> Iterator[EmbeddedKafka]:
    """A broker of the test's own: one it may kill or restart, or whose partitions no other
    test's events share."""
    broker = EmbeddedKafka().start()
    yield broker
    broker.stop()
