"""Session-wide infrastructure fixtures (see ikmdev.infra for the resolution order).

- ``kafka``: bootstrap servers of a real Kafka-protocol broker.
- ``mongo_url``: a MongoDB-wire server (real MongoDB, or mongoeco).
- ``store``: a fresh store per test, parametrized over both adapters.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from ikmdev.infra import EmbeddedKafka, KafkaEndpoint, kafka_kind, resolve_kafka
from ikmkit.messaging.kafka import KafkaPublisher
from ikmkit.store import Store
from ikmkit.store.mongo import MongoStore
from ikmkit.store.sqlite import SqliteStore
from tests.support.infra import MONGO_KIND, resolve_test_mongo

# The code's default is production, which refuses the development JWT secret and unsigned
# events; the suite runs services as a developer does. Tests of production set it themselves.
os.environ.setdefault("IKM_ENV", "development")
# Without a given broker or Docker, every broker here is the embedded one: its consumers join
# their groups in 1 s instead of 5 with its client settings (EmbeddedKafka.CLIENT_ENV).
if kafka_kind() == "embedded":
    for name, value in EmbeddedKafka.CLIENT_ENV.items():
        os.environ.setdefault(name, value)

STORE_KINDS = ["sqlite", "mongodb"]


@pytest.fixture(scope="session")
def kafka_endpoint() -> Iterator[KafkaEndpoint]:
    endpoint = resolve_kafka()
    yield endpoint
    endpoint.stop()


@pytest.fixture(scope="session")
def kafka(kafka_endpoint: KafkaEndpoint) -> str:
    return kafka_endpoint.bootstrap_servers


@pytest.fixture(scope="session")
def mongo_url() -> Iterator[str]:
    url, kind, owner = resolve_test_mongo()
    MONGO_KIND["kind"] = kind
    yield url
    owner.stop()


@pytest.fixture
async def publisher(kafka: str) -> AsyncIterator[KafkaPublisher]:
    """The services' Kafka publisher, started, on the session's broker."""
    pub = KafkaPublisher(kafka)
    await pub.start()
    yield pub
    await pub.stop()


def make_store(kind: str, tmp_path: Path, mongo_url: str | None) -> Store:
    if kind == "sqlite":
        return SqliteStore(tmp_path / f"{uuid.uuid4().hex}.db")
    assert mongo_url is not None
    # mongoeco conflicts on any two overlapping write transactions (database-wide version),
    # so this process takes turns there; a real MongoDB runs them concurrently.
    return MongoStore(
        mongo_url,
        f"test_{uuid.uuid4().hex[:12]}",
        serialize_transactions=MONGO_KIND["kind"] == "mongoeco",
    )


@pytest.fixture(params=STORE_KINDS)
def store_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def fresh_store(
    store_kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[Store]:
    """An unopened store of each kind; closed (and dropped) after the test."""
    url = request.getfixturevalue("mongo_url") if store_kind == "mongodb" else None
    store = make_store(store_kind, tmp_path, url)
    yield store
    if isinstance(store, MongoStore):
        await store.drop()
    await store.close()


def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """Stack-running packages on one worker, other modules spread (tests/support/schedule.py)."""
    from tests.support.schedule import StacksApartScheduling

    return StacksApartScheduling(config, log)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def quick_cli_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """The ``ikm`` commands make their usual tries at an unanswered request, without the
    seconds between them (a test of an unreachable service would wait ~15 s)."""
    monkeypatch.setattr("ikm_cli.client.RETRY_DELAYS", (0.01,) * 5)
