"""Settings shared by every service; each service subclasses with its own env prefix.

Infrastructure settings are read from unprefixed variables every service shares
(``KAFKA_BOOTSTRAP_SERVERS``, ``MONGODB_URL``, ``IKM_DATA_DIR``, ``IKM_JWT_SECRET``,
``IKM_ENV``...); everything else from ``<SERVICE>_<FIELD>``, e.g. ``REGISTRY_PORT``.

``IKM_ENV`` defaults to ``production``: a process nobody configured refuses the
development defaults (see ``production_problems``). ``ikm dev up``, the test suite and
the benchmarks set ``IKM_ENV=development`` explicitly.
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_JWT_SECRET = "dev-only-insecure-secret-change-me"
MIN_JWT_SECRET_LENGTH = 32

Environment = Literal["development", "production"]
KafkaSecurityProtocol = Literal["PLAINTEXT", "SASL_PLAINTEXT", "SASL_SSL", "SSL"]
KafkaSaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]


class UnsafeSettings(RuntimeError):
    """A production service was configured with development defaults; it must not start."""

    def __init__(self, service: str, problems: list[str]) -> None:
        self.problems = problems
        listed = "".join(f"\n  - {p}" for p in problems)
        super().__init__(
            f"{service} refuses to start with IKM_ENV=production:{listed}\n"
            "(see docs/operations.md, 'Production refuses development defaults'; "
            "IKM_ENV=development only on a developer's machine)"
        )


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    env: Environment = Field(
        "production",
        validation_alias="IKM_ENV",
        description="development or production. Production refuses to start with the "
        "development JWT secret, without a token key, or without event signing keys.",
    )
    kafka_bootstrap_servers: str = Field(
        "127.0.0.1:9092",
        validation_alias="KAFKA_BOOTSTRAP_SERVERS",
        description="Kafka bootstrap servers, comma-separated host:port.",
    )
    kafka_security_protocol: KafkaSecurityProtocol = Field(
        "PLAINTEXT",
        validation_alias="KAFKA_SECURITY_PROTOCOL",
        description="PLAINTEXT, SASL_PLAINTEXT, SASL_SSL or SSL for every Kafka client.",
    )
    kafka_sasl_mechanism: KafkaSaslMechanism = Field(
        "SCRAM-SHA-512",
        validation_alias="KAFKA_SASL_MECHANISM",
        description="SASL mechanism with SASL_* protocols (Strimzi scram-sha-512 users).",
    )
    kafka_sasl_username: str | None = Field(
        None, validation_alias="KAFKA_SASL_USERNAME", description="Kafka user of this service."
    )
    kafka_sasl_password: SecretStr | None = Field(
        None, validation_alias="KAFKA_SASL_PASSWORD", description="Password of the Kafka user."
    )
    kafka_ssl_cafile: Path | None = Field(
        None,
        validation_alias="KAFKA_SSL_CAFILE",
        description="CA bundle (PEM) that signs the brokers' certificates (SSL, SASL_SSL).",
    )
    kafka_session_timeout_ms: int = Field(
        10_000,
        ge=1_000,
        validation_alias="KAFKA_SESSION_TIMEOUT_MS",
        description="Consumer group session timeout (ms; heartbeats every third of it): how "
        "long a silent consumer keeps its partitions. Apache Kafka accepts 6000-1800000 by "
        "default; the embedded broker holds each group join for half of it.",
    )
    kafka_fetch_max_wait_ms: int = Field(
        500,
        ge=1,
        le=30_000,
        validation_alias="KAFKA_FETCH_MAX_WAIT_MS",
        description="How long a consumer's fetch may wait for records (ms). Apache Kafka "
        "answers as soon as a record arrives, so the wait adds no latency there and a short "
        "one only multiplies idle fetches (200/s per consumer at 5 ms); the embedded broker "
        "answers only at the end of the wait, so its clients use 5.",
    )
    kafka_commit_interval_ms: int = Field(
        100,
        ge=0,
        le=60_000,
        validation_alias="KAFKA_COMMIT_INTERVAL_MS",
        description="How often a consumer commits the offsets of the events it has processed "
        "(ms; 0: after every batch). Offsets are committed only after the events' effects are "
        "stored; a longer interval means fewer requests to the group coordinator and more "
        "events read again (without a second effect) after a crash or rebalance.",
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
    jwt_secret: SecretStr | None = Field(
        None,
        validation_alias="IKM_JWT_SECRET",
        description="HMAC key that signs and verifies bearer tokens (HS256). Unset: the "
        "development secret in development; in production HS256 tokens are then refused.",
    )
    jwt_issuer: str = Field(
        "ikm-platform", validation_alias="IKM_JWT_ISSUER", description="iss of HS256 tokens."
    )
    jwt_audience: str = Field(
        "ikm-platform",
        validation_alias="IKM_JWT_AUDIENCE",
        description="aud every token must carry (HS256 and JWKS tokens).",
    )
    jwt_max_lifetime: int = Field(
        12 * 3600,
        gt=0,
        validation_alias="IKM_JWT_MAX_LIFETIME",
        description="Longest token lifetime (exp - iat) in seconds accepted.",
    )
    jwt_jwks_url: str | None = Field(
        None,
        validation_alias="IKM_JWT_JWKS_URL",
        description="JWKS URL of an identity provider (e.g. Keycloak "
        ".../realms/<realm>/protocol/openid-connect/certs): RS256/ES256 tokens accepted.",
    )
    jwt_jwks_issuer: str | None = Field(
        None,
        validation_alias="IKM_JWT_JWKS_ISSUER",
        description="iss of the identity provider's tokens (e.g. https://sso.example/realms/ikm)"
        "; required with IKM_JWT_JWKS_URL.",
    )
    host: str = Field("127.0.0.1", description="Interface the HTTP API listens on.")
    port: int = Field(8000, description="Port the HTTP API listens on.")
    public_url: str | None = Field(
        None,
        description="URL clients reach the API at (e.g. https://ikm.example/registry): the"
        " OpenAPI document's server. Unset: the document's own origin.",
    )
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
    consumer_stall_seconds: float = Field(
        120.0,
        gt=0,
        description="/readyz fails when a consumer group has messages pending on a partition "
        "of this replica and its committed offset there has not moved for this long.",
    )
    max_request_bytes: int = Field(
        1024 * 1024,
        description="Largest request body accepted (bytes, counted as received); larger: 413.",
    )
    max_bulk_request_bytes: int = Field(
        16 * 1024 * 1024,
        description="Largest body of a bulk endpoint (e.g. bulk enrollment); larger: 413.",
    )
    event_signing_key: SecretStr | None = Field(
        None,
        description="Ed25519 private key (base64, raw 32 bytes) that signs this service's events"
        "; required in production.",
    )
    event_public_keys: dict[str, str] = Field(
        default_factory=dict,
        validation_alias="IKM_EVENT_PUBLIC_KEYS",
        description="Ed25519 public keys (base64, raw 32 bytes) of event producers by service "
        "name, as JSON; consumers dead-letter events from a configured producer whose "
        "ce_signature does not verify.",
    )
    event_strict_producers: list[str] = Field(
        default_factory=list,
        validation_alias="IKM_EVENT_STRICT_PRODUCERS",
        description="Producers (service names, JSON list) whose signed events must carry "
        "ce_prevhash: consumers dead-letter one without it (written before 2026-12) as forged "
        "instead of accepting it on its signature. For when none is left to read.",
    )

    @property
    def production(self) -> bool:
        return self.env == "production"

    def hs256_secret(self) -> str | None:
        """The HMAC key tokens are verified with; the development one only in development."""
        if self.jwt_secret is not None:
            return self.jwt_secret.get_secret_value()
        return None if self.production else DEV_JWT_SECRET

    def env_name(self, field: str) -> str:
        """The environment variable that sets ``field`` (for error messages)."""
        alias = type(self).model_fields[field].validation_alias
        prefix = str(self.model_config.get("env_prefix", ""))
        return alias if isinstance(alias, str) else f"{prefix}{field}".upper()

    def key_problems(self) -> list[str]:
        """Malformed keys: refused in every environment (they would fail later, mid-flow)."""
        problems = []
        if self.event_signing_key is not None and not _is_raw_key(
            self.event_signing_key.get_secret_value()
        ):
            problems.append(
                f"{self.env_name('event_signing_key')} is not a base64 raw 32-byte Ed25519 key"
            )
        problems += [
            f"IKM_EVENT_PUBLIC_KEYS[{name!r}] is not a base64 raw 32-byte Ed25519 public key"
            for name, key in sorted(self.event_public_keys.items())
            if not _is_raw_key(key)
        ]
        if self.jwt_jwks_url and not self.jwt_jwks_issuer:
            problems.append("IKM_JWT_JWKS_URL is set but IKM_JWT_JWKS_ISSUER is not")
        return problems

    def production_problems(self) -> list[str]:
        """Why this configuration must not serve production (empty: it may)."""
        if not self.production:
            return []
        problems = []
        secret = self.jwt_secret.get_secret_value() if self.jwt_secret else None
        if secret == DEV_JWT_SECRET:
            problems.append("IKM_JWT_SECRET is the published development secret")
        elif secret is not None and len(secret) < MIN_JWT_SECRET_LENGTH:
            problems.append(f"IKM_JWT_SECRET is shorter than {MIN_JWT_SECRET_LENGTH} characters")
        elif secret is None and not self.jwt_jwks_url:
            problems.append("neither IKM_JWT_SECRET nor IKM_JWT_JWKS_URL is set")
        if self.event_signing_key is None:
            problems.append(
                f"{self.env_name('event_signing_key')} is unset: events would go out unsigned"
            )
        return problems + self._secrets_left_at_default()

    def _secrets_left_at_default(self) -> list[str]:
        """Any secret still at its published default (e.g. a service's dev-only HMAC keys)."""
        problems = []
        for name, info in type(self).model_fields.items():
            default, value = info.default, getattr(self, name)
            if (
                isinstance(default, SecretStr)
                and isinstance(value, SecretStr)
                and value.get_secret_value() == default.get_secret_value()
            ):
                problems.append(f"{self.env_name(name)} is its published development default")
        return problems

    def missing_producer_keys(self, producers: set[str]) -> list[str]:
        """Producers (of topics this service consumes) without a public key in production."""
        if not self.production:
            return []
        return sorted(producers - set(self.event_public_keys))


def _is_raw_key(text: str) -> bool:
    try:
        return len(base64.b64decode(text, validate=True)) == 32
    except (binascii.Error, ValueError):
        return False
