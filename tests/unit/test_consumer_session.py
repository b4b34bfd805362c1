"""The consumer group session timeout: one setting (``KAFKA_SESSION_TIMEOUT_MS``) every
service's consumers start with, shortened on the embedded broker, whose group join waits half
of it (5 s per consumer start at the clients' default)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from faststream.kafka import KafkaRouter
from pydantic import ValidationError

from contracts.registry import EnterpriseRegistered
from ikmdev.infra import EmbeddedKafka, KafkaEndpoint
from ikmkit.messaging.consumer import EventConsumer
from ikmkit.service.settings import ServiceSettings
from ikmkit.store.sqlite import SqliteStore
from ikmkit.unit_of_work import UnitOfWork, Units


def subscribed(**options: Any) -> dict[str, Any]:
    """The aiokafka options FastStream starts this consumer's subscriber with."""
    consumer: EventConsumer[UnitOfWork] = EventConsumer(
        group="g", units=Units(SqliteStore(":memory:"), Any, UnitOfWork), dead_letters=Any
    )
    consumer.handles(EnterpriseRegistered)(lambda *_: asyncio.sleep(0))
    consumer.subscribe(KafkaRouter(), **options)
    args: dict[str, Any] = consumer.subscriber._connection_args
    return args


def test_the_clients_default_unless_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAFKA_SESSION_TIMEOUT_MS", raising=False)
    assert ServiceSettings().kafka_session_timeout_ms == 10_000
    monkeypatch.setenv("KAFKA_SESSION_TIMEOUT_MS", "2000")
    assert ServiceSettings().kafka_session_timeout_ms == 2_000
    monkeypatch.setenv("KAFKA_SESSION_TIMEOUT_MS", "500")
    with pytest.raises(ValidationError, match="KAFKA_SESSION_TIMEOUT_MS"):
        ServiceSettings()


@pytest.mark.parametrize("batch", [True, False])
def test_subscribers_start_with_the_session_and_heartbeat_a_third_of_it(batch: bool) -> None:
    options = subscribed(batch=batch, session_timeout_ms=2_000)
    assert options["session_timeout_ms"] == 2_000
    assert options["heartbeat_interval_ms"] == 666
    default = subscribed(batch=batch)
    assert (default["session_timeout_ms"], default["heartbeat_interval_ms"]) == (10_000, 3_333)


def test_only_the_embedded_broker_shortens_the_session() -> None:
    assert KafkaEndpoint("127.0.0.1:9092", "embedded").client_env == {
        "KAFKA_SESSION_TIMEOUT_MS": "2000",
        "KAFKA_FETCH_MAX_WAIT_MS": "5",  # tests/unit/test_consumer_fetch_wait.py
    }
    assert EmbeddedKafka.CLIENT_ENV["KAFKA_SESSION_TIMEOUT_MS"] == "2000"
    # Apache Kafka refuses a session under its group.min.session.timeout.ms (6 s by default).
    assert KafkaEndpoint("kafka:9092", "external").client_env == {}
    assert KafkaEndpoint("127.0.0.1:9093", "testcontainers").client_env == {}
