"""Every Kafka client a service builds authenticates the same way (one helper), and no
client construction in the code bypasses it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from ikmkit.messaging.kafka import KafkaPublisher
from ikmkit.messaging.kafka_security import (
    KafkaSecurityError,
    faststream_security,
    kafka_client_options,
)
from ikmkit.messaging.progress import ConsumerLagProbe
from ikmkit.service.runtime import build_runtime
from ikmkit.store.sqlite import SqliteStore
from services.subsidy.main import definition
from services.subsidy.settings import SubsidySettings

ROOT = Path(__file__).resolve().parents[2]
CLIENTS = {"AIOKafkaProducer", "AIOKafkaConsumer", "AIOKafkaAdminClient", "KafkaBroker"}
SOURCES = ("ikmkit", "services", "ikm_cli", "deploy/docker")

SASL = {
    "kafka_security_protocol": "SASL_PLAINTEXT",
    "kafka_sasl_mechanism": "SCRAM-SHA-512",
    "kafka_sasl_username": "ikm-subsidy",
    "kafka_sasl_password": "s3cret",
}


def test_sasl_settings_become_client_options() -> None:
    settings = SubsidySettings(**SASL)
    assert kafka_client_options(settings) == {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "ikm-subsidy",
        "sasl_plain_password": "s3cret",
    }
    assert kafka_client_options(SubsidySettings()) == {"security_protocol": "PLAINTEXT"}
    with pytest.raises(KafkaSecurityError, match="KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"):
        kafka_client_options(SubsidySettings(kafka_security_protocol="SASL_SSL"))
    tls = kafka_client_options(SubsidySettings(kafka_security_protocol="SSL"))
    assert tls["security_protocol"] == "SSL" and tls["ssl_context"] is not None


async def test_the_runtime_clients_carry_the_service_credentials(tmp_path: Path) -> None:
    settings = SubsidySettings(**SASL)
    runtime = build_runtime(definition(settings, store=SqliteStore(tmp_path / "s.db")))
    client = runtime.publisher._producer.client
    assert (client._security_protocol, client._sasl_plain_username) == (
        "SASL_PLAINTEXT",
        "ikm-subsidy",
    )
    security = faststream_security(settings)
    assert security is not None and security.username == "ikm-subsidy"  # type: ignore[attr-defined]
    probe = ConsumerLagProbe("127.0.0.1:1", security=kafka_client_options(settings))
    assert probe._offsets._client._sasl_plain_username == "ikm-subsidy"
    plain = KafkaPublisher("127.0.0.1:1", security=kafka_client_options(SubsidySettings()))
    assert plain._producer.client._security_protocol == "PLAINTEXT"


def constructions_without_security() -> list[str]:
    missing = []
    for source in SOURCES:
        for path in sorted((ROOT / source).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Call):
                    continue
                name = getattr(node.func, "id", getattr(node.func, "attr", ""))
                passes = any(k.arg is None or k.arg == "security" for k in node.keywords)
                if name in CLIENTS and not passes:
                    missing.append(f"{path.relative_to(ROOT)}:{node.lineno} {name}")
    return missing


def test_no_kafka_client_is_built_without_the_security_options() -> None:
    assert constructions_without_security() == []
