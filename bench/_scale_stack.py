"""The processes of ``make bench-scale`` and what is measured about them from outside.

The five services run as ``ikm dev up`` runs them (``ikm_cli.launcher.start_service`` with
the dev stack's environment: signing keys, development JWT secret), SQLite stores in a
scratch directory, the broker resolved as everywhere else (embedded Tansu here). Notify
mails a counting SMTP sink in its own process: the dev stack's sink keeps every message in
memory, which at campaign size would be gigabytes in the measuring process.

Peak RSS is the kernel's high-water mark (``VmHWM`` in ``/proc/<pid>/status``), read while
the process lives, or written by the CLI child itself as it exits (``bench._cli_peak``), so no
sample is missed.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from aiokafka import AIOKafkaConsumer, TopicPartition

from bench import _cli_peak as cli_peak
from bench.common import cpu_seconds
from contracts.registry import ENTERPRISE_TOPIC
from ikm_cli.dev import SERVICES, _service_env
from ikm_cli.launcher import ServiceProcess, StartupError, start_service, wait_ready
from ikmdev.infra import KafkaEndpoint, free_port, wait_for_port
from ikmkit.messaging.progress import ConsumerLagProbe

CONSUMER_GROUPS = ("subsidy", "training", "notify", "insights")
REGISTERED = b".EnterpriseRegistered.v1"


def memory_mb(pid: int, key: str = "VmHWM") -> float:
    """``VmHWM`` (peak resident set) or ``VmRSS`` (now) of a live process, in MB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{key}:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


@dataclass
class Stack:
    kafka: KafkaEndpoint
    workdir: Path
    env: dict[str, str] = field(default_factory=dict)
    services: dict[str, ServiceProcess] = field(default_factory=dict)
    sink: subprocess.Popen[bytes] | None = None
    sink_count: Path | None = None

    @property
    def data_dir(self) -> Path:
        return self.workdir / "data"

    def start(self) -> None:
        port = free_port()
        self.sink_count = self.workdir / "smtp-count"
        self.sink = subprocess.Popen(
            [sys.executable, "-m", "bench._scale_stack", str(port), str(self.sink_count)],
            stdout=subprocess.DEVNULL,
            stderr=(self.workdir / "smtp.log").open("ab"),
        )
        wait_for_port("127.0.0.1", port)
        extra = {
            **self.kafka.client_env,  # as `ikm dev up`: the embedded broker's client settings
            "NOTIFY_SMTP_HOST": "127.0.0.1",
            "NOTIFY_SMTP_PORT": str(port),
            "IKM_LOG_LEVEL": "WARNING",
        }
        self.env = _service_env(self.kafka.bootstrap_servers, self.data_dir, extra)
        logs = self.workdir / "logs"
        for name in SERVICES:
            self.services[name] = start_service(name, free_port(), self.env, logs)
        for attempt in range(3):
            try:
                wait_ready(list(self.services.values()), timeout=180)
                return
            except StartupError:
                # A free port may be taken by another process before the service binds it.
                dead = [n for n, s in self.services.items() if s.process.poll() is not None]
                if not dead or attempt == 2:
                    raise
                for name in dead:
                    self.services[name] = start_service(name, free_port(), self.env, logs)

    def url(self, service: str) -> str:
        return self.services[service].url

    def peak_rss(self) -> dict[str, float]:
        """Each live service's peak RSS so far, and the broker's (when it is embedded)."""
        peaks = {n: memory_mb(s.process.pid) for n, s in self.services.items()}
        broker = self.kafka.embedded
        if broker is not None and broker.pid is not None:
            peaks["broker (Tansu)"] = memory_mb(broker.pid)
        return peaks

    def cpu(self) -> dict[str, float]:
        """CPU seconds each live service (and the embedded broker) has used so far."""
        used = {n: cpu_seconds(s.process.pid) for n, s in self.services.items()}
        broker = self.kafka.embedded
        if broker is not None and broker.pid is not None:
            used["broker (Tansu)"] = cpu_seconds(broker.pid)
        return used

    def delivered(self) -> int:
        assert self.sink_count is not None
        try:
            return int(self.sink_count.read_text() or 0)
        except (OSError, ValueError):
            return 0

    def stop_services(self) -> None:
        for svc in self.services.values():
            if svc.process.poll() is None:
                svc.process.terminate()
        for svc in self.services.values():
            try:
                svc.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                svc.process.kill()
                svc.process.wait()

    def stop(self) -> None:
        self.stop_services()
        if self.sink is not None and self.sink.poll() is None:
            self.sink.terminate()
            self.sink.wait(timeout=10)


def count_rows(db: Path, collection: str, where: str = "") -> int:
    """Rows of a collection in a service's SQLite store (read only, beside the live writer)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        sql = f'SELECT count(*) FROM "c_{collection}"' + (f" WHERE {where}" if where else "")
        return int(conn.execute(sql).fetchone()[0])
    finally:
        conn.close()


def consumed_topics(group: str) -> list[str]:
    """The topics a group's lag is measured on: the enterprise topic; insights, all it follows."""
    if group == "insights":
        from services.insights.handlers.events import TOPICS

        return list(TOPICS)
    return [ENTERPRISE_TOPIC]


async def consumer_lag(probe: ConsumerLagProbe, groups: tuple[str, ...]) -> dict[str, int]:
    """Per group: records past its committed offsets (from the log start when it has
    committed nothing), measured by the services' own probe."""
    return {g: sum((await probe.measure(g, consumed_topics(g))).values()) for g in groups}


@dataclass(frozen=True)
class Published:
    records: int  # on the topic, keys with the run's prefix
    distinct: int  # distinct CloudEvents ids among them
    registered: int  # EnterpriseRegistered among them


async def published_counts(kafka: str, topic: str, prefix: str) -> Published:
    """What is on ``topic`` for keys starting with ``prefix``, read group-less from the
    beginning until 3 s pass without a record."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=kafka,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=8 * 1024 * 1024,
    )
    await consumer.start()
    try:
        await consumer.topics()
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        records, registered, ids = 0, 0, set()
        idle_since = time.monotonic()
        while time.monotonic() - idle_since < 3:
            batches = await consumer.getmany(timeout_ms=500, max_records=20_000)
            for batch in batches.values():
                idle_since = time.monotonic()
                for record in batch:
                    if not (record.key or b"").startswith(prefix.encode()):
                        continue
                    headers = dict(record.headers)
                    records += 1
                    ids.add(headers.get("ce_id"))
                    registered += headers.get("ce_type", b"").endswith(REGISTERED)
        return Published(records, len(ids), registered)
    finally:
        await consumer.stop()


def run_cli(args: list[str], env: dict[str, str], log: Path, limit: float) -> tuple[float, float]:
    """``ikm ARGS`` as a child process: (seconds, its own peak RSS in MB). Raises on failure."""
    seconds, peak, code = cli_peak.run_cli(args, env, log, limit)
    if code not in (0, 1):  # 1: findings, reported by the caller from the report
        raise RuntimeError(f"ikm {' '.join(args)} exited {code}; see {log}")
    return seconds, peak


def _sink_main(port: int, count_file: Path) -> None:
    """A counting SMTP sink: accepts every message, keeps nothing but the count."""
    import logging

    from aiosmtpd.controller import Controller

    from ikm_cli.devextras import Pipelining

    received = 0

    class Counter(Pipelining):  # as the dev sink and a real relay: two round trips a mail
        async def handle_DATA(self, server: object, session: object, envelope: object) -> str:  # noqa: N802
            nonlocal received
            received += 1
            return "250 Message accepted for delivery"

    logging.getLogger("mail.log").setLevel(logging.WARNING)  # no addresses in logs
    controller = Controller(Counter(), hostname="127.0.0.1", port=port, ready_timeout=10)
    controller.start()
    try:
        while True:
            count_file.write_text(str(received))
            time.sleep(0.2)
    finally:
        controller.stop()


if __name__ == "__main__":
    _sink_main(int(sys.argv[1]), Path(sys.argv[2]))
