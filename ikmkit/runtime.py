"""Composition of a service process: store, outbox relay, Kafka consumers, HTTP API.

A service's ``main.py`` builds a ``ServiceDefinition`` and calls
``create_service_app``; nothing touches the network or disk until the FastAPI
lifespan starts, so importing ``main`` has no side effects.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from fastapi import APIRouter, Depends, FastAPI, Request, Response
from faststream.kafka import KafkaBroker, KafkaRouter
from faststream.kafka.opentelemetry import KafkaTelemetryMiddleware
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from contracts.topics import dead_letter_topic
from ikmkit import metrics
from ikmkit.consumer import EventConsumer, RetryPolicy
from ikmkit.http import install_error_handlers, install_latency_metrics
from ikmkit.inbox import INBOX_COLLECTIONS
from ikmkit.infra import store_for
from ikmkit.instance import InstanceHeader, instance_id
from ikmkit.kafka import KafkaLogProbe, KafkaPublisher, ensure_topics
from ikmkit.outbox import OUTBOX_COLLECTIONS, Outbox, outbox_backlog
from ikmkit.outbox_ops import ops_router, parked_count
from ikmkit.relay import OUTBOX_PARKED, OutboxRelay
from ikmkit.settings import ServiceSettings
from ikmkit.signing import signer_from_key
from ikmkit.store import CollectionSpec, Store
from ikmkit.telemetry import configure_logging, setup_metrics_export, setup_tracing

log = logging.getLogger("ikmkit.runtime")

BackgroundTask = Callable[["Runtime"], Coroutine[Any, Any, None]]


@dataclass(frozen=True)
class ConsumerSpec:
    """Builds one consumer group's ``EventConsumer`` once the runtime exists."""

    build: Callable[[Runtime], EventConsumer]
    batch: bool = False
    max_records: int = 500


@dataclass
class ServiceDefinition:
    name: str
    settings: ServiceSettings
    collections: Sequence[CollectionSpec]
    routers: Sequence[APIRouter] = ()
    produces: Sequence[str] = ()
    consumers: Sequence[ConsumerSpec] = ()
    background: Sequence[BackgroundTask] = ()
    description: str = ""
    store: Store | None = None  # injected by tests; otherwise resolved from settings


@dataclass
class Runtime:
    """Everything a request handler or event handler of the service may need."""

    name: str
    settings: ServiceSettings
    store: Store
    outbox: Outbox
    publisher: KafkaPublisher
    relay: OutboxRelay
    broker: KafkaBroker
    consumers: list[EventConsumer] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


async def _runtime_dependency(request: Request) -> Runtime:
    # async: FastAPI runs sync dependencies in a threadpool, a hop per request.
    return runtime_of(request)


RuntimeDep = Annotated[Runtime, Depends(_runtime_dependency)]
"""Inject the service's runtime into a FastAPI endpoint."""


def _build_runtime(definition: ServiceDefinition) -> Runtime:
    settings = definition.settings
    store = definition.store or store_for(
        definition.name, mongodb_url=settings.mongodb_url, data_dir=settings.data_dir
    )
    signing_key = settings.event_signing_key
    outbox = Outbox(
        f"/ikm/{definition.name}",
        signer=signer_from_key(signing_key.get_secret_value()) if signing_key else None,
    )
    publisher = KafkaPublisher(
        settings.kafka_bootstrap_servers,
        client_id=f"ikm-{definition.name}",
        max_message_bytes=settings.outbox_max_message_bytes,
    )
    probe = KafkaLogProbe(
        settings.kafka_bootstrap_servers,
        partitions=settings.topic_partitions,
        client_id=f"ikm-{definition.name}-log",
    )
    relay = OutboxRelay(
        store,
        publisher,
        batch_size=settings.outbox_batch_size,
        poll_interval=settings.outbox_poll_interval,
        log_probe=probe,
        topics=definition.produces,
        verify_interval=settings.outbox_verify_interval,
        service=definition.name,
    )
    outbox.on_add(relay.wake)
    broker = KafkaBroker(
        settings.kafka_bootstrap_servers,
        client_id=f"ikm-{definition.name}",
        middlewares=[KafkaTelemetryMiddleware()],
        logger=logging.getLogger(f"ikm.{definition.name}.broker"),
    )
    return Runtime(definition.name, settings, store, outbox, publisher, relay, broker)


async def _start_consumers(definition: ServiceDefinition, runtime: Runtime) -> list[str]:
    router = KafkaRouter()
    topics: list[str] = []
    retry = RetryPolicy(max_attempts=runtime.settings.consumer_max_attempts)
    for spec in definition.consumers:
        consumer = spec.build(runtime)
        consumer.retry = retry
        consumer.subscribe(router, batch=spec.batch, max_records=spec.max_records)
        runtime.consumers.append(consumer)
        topics += consumer.topics + [dead_letter_topic(t, consumer.group) for t in consumer.topics]
    runtime.broker.include_router(router)
    return topics


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    definition: ServiceDefinition = app.state.definition
    runtime = _build_runtime(definition)
    app.state.runtime = runtime
    await runtime.store.open([*definition.collections, *OUTBOX_COLLECTIONS, *INBOX_COLLECTIONS])
    await runtime.publisher.start()
    consumed = await _start_consumers(definition, runtime)
    runtime.relay.watch_topics(consumed)
    await ensure_topics(
        runtime.settings.kafka_bootstrap_servers,
        [*definition.produces, *consumed],
        partitions=runtime.settings.topic_partitions,
    )
    await runtime.broker.start()
    runtime.relay.start()
    tasks = [asyncio.create_task(task(runtime)) for task in definition.background]
    tasks.append(asyncio.create_task(_watch_outbox(runtime)))
    if runtime.consumers:
        tasks.append(asyncio.create_task(_watch_consumer_lag(runtime)))
    log.info("%s started (store %s)", definition.name, runtime.store.kind)
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await runtime.broker.stop()
        await runtime.relay.stop()
        await runtime.publisher.stop()
        await runtime.store.close()


async def _watch_outbox(runtime: Runtime) -> None:
    while True:
        with contextlib.suppress(Exception):
            backlog = await outbox_backlog(runtime.store)
            metrics.OUTBOX_BACKLOG.labels(runtime.name).set(backlog.pending)
            metrics.OUTBOX_OLDEST_AGE.labels(runtime.name).set(backlog.oldest_age_seconds)
            OUTBOX_PARKED.labels(runtime.name).set(await parked_count(runtime.store))
        await asyncio.sleep(5)


LAG_INTERVAL_SECONDS = 15.0


class ConsumerLagProbe:
    """Measures how far consumer groups are behind the end of their partitions.

    Lag of a partition = its end offset minus the group's committed offset (or
    minus the log start when the group has committed nothing yet). It covers every
    partition of the group's topics, not only this replica's assignment, so every
    replica reports the same numbers: aggregate with ``max by (group, topic, partition)``.
    """

    def __init__(self, bootstrap_servers: str, *, client_id: str = "ikm-lag-probe") -> None:
        self._admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, client_id=client_id)
        # No group_id: this consumer only reads offsets, it never joins or commits.
        self._offsets = AIOKafkaConsumer(
            bootstrap_servers=bootstrap_servers, client_id=client_id, enable_auto_commit=False
        )

    async def start(self) -> None:
        await self._admin.start()
        await self._offsets.start()

    async def stop(self) -> None:
        await self._offsets.stop()
        await self._admin.close()

    async def measure(self, group: str, topics: Sequence[str]) -> dict[tuple[str, int], int]:
        """Lag per (topic, partition) of ``group`` on ``topics``."""
        await self._offsets.topics()  # refresh metadata: partitions may have been added
        partitions = [
            TopicPartition(topic, partition)
            for topic in topics
            for partition in sorted(self._offsets.partitions_for_topic(topic) or ())
        ]
        if not partitions:
            return {}
        ends = await self._offsets.end_offsets(partitions)
        starts = await self._offsets.beginning_offsets(partitions)
        committed = await self._admin.list_consumer_group_offsets(group, partitions=partitions)
        lag: dict[tuple[str, int], int] = {}
        for tp in partitions:
            mark = committed.get(tp)
            position = max(mark.offset if mark is not None else -1, starts[tp])
            lag[(tp.topic, tp.partition)] = max(ends[tp] - position, 0)
        return lag


async def _watch_consumer_lag(runtime: Runtime) -> None:
    probe = ConsumerLagProbe(
        runtime.settings.kafka_bootstrap_servers, client_id=f"ikm-{runtime.name}-lag"
    )
    await probe.start()
    try:
        while True:
            for consumer in runtime.consumers:
                try:
                    lag = await probe.measure(consumer.group, consumer.topics)
                except Exception as exc:  # a broker hiccup must not kill the watcher
                    log.warning("consumer lag of %s not measured: %r", consumer.group, exc)
                    continue
                for (topic, partition), behind in lag.items():
                    metrics.CONSUMER_LAG.labels(consumer.group, topic, str(partition)).set(behind)
            await asyncio.sleep(LAG_INTERVAL_SECONDS)
    finally:
        await probe.stop()


def _health_router(max_backlog: int) -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/healthz", summary="Process is alive")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", summary="Broker and store reachable, outbox backlog under threshold")
    async def readyz(request: Request, response: Response) -> dict[str, Any]:
        runtime = runtime_of(request)
        checks: dict[str, Any] = {}
        try:
            await asyncio.wait_for(runtime.store.ping(), 2)
            checks["store"] = "ok"
            backlog = await outbox_backlog(runtime.store)
            checks["outbox_backlog"] = backlog.pending
            checks["outbox_oldest_age_seconds"] = round(backlog.oldest_age_seconds, 3)
            if backlog.pending > max_backlog:
                checks["outbox"] = f"backlog {backlog.pending} > {max_backlog}"
        except Exception as exc:
            checks["store"] = f"unreachable: {type(exc).__name__}"
        with contextlib.suppress(Exception):  # an unreachable store is reported above
            if parked := await parked_count(runtime.store):
                checks["parked"] = f"{parked} events parked (ikm outbox parked)"
        try:
            await asyncio.wait_for(runtime.broker.ping(timeout=2), 3)
            checks["broker"] = "ok"
        except Exception as exc:
            checks["broker"] = f"unreachable: {type(exc).__name__}"
        ready = (
            checks.get("store") == "ok" and checks.get("broker") == "ok" and "outbox" not in checks
        )
        # Parked events: the service works, but some events wait for an operator.
        status = ("degraded" if "parked" in checks else "ready") if ready else "not ready"
        response.status_code = 200 if status == "ready" else 503
        return {"status": status, "checks": checks}

    @router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
    async def prometheus_metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


def create_service_app(definition: ServiceDefinition) -> FastAPI:
    configure_logging(definition.name)
    provider = setup_tracing(definition.name)
    setup_metrics_export(definition.name)
    app = FastAPI(
        title=f"IKM {definition.name} service",
        description=definition.description,
        version="1.0.0",
        lifespan=_lifespan,
    )
    app.state.definition = definition
    app.state.jwt_secret = definition.settings.jwt_secret.get_secret_value()
    app.state.started = time.time()
    install_error_handlers(app)
    install_latency_metrics(app, definition.name)
    app.add_middleware(InstanceHeader, instance=instance_id())
    app.include_router(_health_router(definition.settings.ready_max_outbox_backlog))
    app.include_router(ops_router())
    for router in definition.routers:
        app.include_router(router)
    # No internal "http send"/"http receive" spans: two or three extra spans per request,
    # ~10% of a registration's CPU, telling nothing the server span does not.
    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=provider,
        excluded_urls="healthz,readyz,metrics",
        exclude_spans=["send", "receive"],
    )
    return app
