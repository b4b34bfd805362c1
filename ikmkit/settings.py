"""Settings shared by every service; each service subclasses with its own env prefix.

Infrastructure settings are read from unprefixed variables every service shares
(``KAFKA_BOOTSTRAP_SERVERS``, ``MONGODB_URL``, ``IKM_DATA_DIR``, ``IKM_JWT_SECRET``);
everything else from ``<SERVICE>_<FIELD>``, e.g. ``REGISTRY_PORT``.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_JWT_SECRET = "dev-only-insecure-secret-change-me"


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    kafka_bootstrap_servers: str = Field(
        "127.0.0.1:9092",
        validation_alias="KAFKA_BOOTSTRAP_SERVERS",
        description="Kafka bootstrap servers, comma-separated host:port.",
    )
    mongodb_url: str | None = Field(
        None,
        validation_alias="MONGODB_URL",
        description="MongoDB URL (replica set). Unset: a SQLite file per service in IKM_DATA_DIR.",
    )
    data_dir: Path = Field(
        Path(".ikm/data"),
        validation_alias="IKM_DATA_DIR",
        description="Directory of the SQLite databases when MONGODB_URL is unset.",
    )
    jwt_secret: SecretStr = Field(
        SecretStr(DEV_JWT_SECRET),
        validation_alias="IKM_JWT_SECRET",
        description="HMAC key that signs and verifies bearer tokens (HS256).",
    )
    host: str = Field("127.0.0.1", description="Interface the HTTP API listens on.")
    port: int = Field(8000, description="Port the HTTP API listens on.")
    topic_partitions: int = Field(3, description="Partitions of topics this service creates.")
    outbox_batch_size: int = Field(1000, description="Events the relay publishes per pass.")
    outbox_poll_interval: float = Field(0.1, description="Seconds between idle relay passes.")
    outbox_verify_interval: float = Field(
        5.0,
        description="Seconds between the relay's checks that the log still holds what it"
        " published (a lost topic partition is recreated and republished from the outbox).",
    )
    outbox_max_message_bytes: int = Field(
        1024 * 1024,
        description="Largest event the relay publishes; a larger one is parked with its reason.",
    )
    ready_max_outbox_backlog: int = Field(
        50_000, description="/readyz fails while more events than this wait in the outbox."
    )
    consumer_max_attempts: int = Field(5, description="Attempts before an event is dead-lettered.")
    event_signing_key: SecretStr | None = Field(
        None, description="Optional Ed25519 private key (base64, raw 32 bytes) to sign events."
    )
