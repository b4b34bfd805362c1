"""How long a consumer's fetch may wait: one setting (``KAFKA_FETCH_MAX_WAIT_MS``). Apache Kafka
answers a held fetch as soon as a record arrives, so the clients' 500 ms costs no latency there
while 5 ms made every idle consumer ask 200 times a second; the embedded broker answers only
when the wait is over, so on it (and only on it) the clients wait 5 ms."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ikmdev.infra import EmbeddedKafka, KafkaEndpoint
from ikmkit.service.settings import ServiceSettings
from tests.unit.test_consumer_session import subscribed


def test_the_clients_default_unless_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAFKA_FETCH_MAX_WAIT_MS", raising=False)
    assert ServiceSettings().kafka_fetch_max_wait_ms == 500
    monkeypatch.setenv("KAFKA_FETCH_MAX_WAIT_MS", "5")
    assert ServiceSettings().kafka_fetch_max_wait_ms == 5
    for refused in ("0", "30001"):
        monkeypatch.setenv("KAFKA_FETCH_MAX_WAIT_MS", refused)
        with pytest.raises(ValidationError, match="KAFKA_FETCH_MAX_WAIT_MS"):
            ServiceSettings()


@pytest.mark.parametrize("batch", [True, False])
def test_subscribers_fetch_with_the_given_wait(batch: bool) -> None:
    assert subscribed(batch=batch, fetch_max_wait_ms=5)["fetch_max_wait_ms"] == 5
    assert subscribed(batch=batch)["fetch_max_wait_ms"] == 500


def test_only_the_embedded_broker_shortens_the_fetch_wait() -> None:
    assert EmbeddedKafka.CLIENT_ENV["KAFKA_FETCH_MAX_WAIT_MS"] == "5"
    assert KafkaEndpoint("127.0.0.1:9092", "embedded").client_env["KAFKA_FETCH_MAX_WAIT_MS"] == "5"
    assert "KAFKA_FETCH_MAX_WAIT_MS" not in KafkaEndpoint("kafka:9092", "external").client_env
    assert "KAFKA_FETCH_MAX_WAIT_MS" not in KafkaEndpoint("h:9093", "testcontainers").client_env
