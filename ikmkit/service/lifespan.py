"""Starting and stopping a service process: the FastAPI lifespan ``create_service_app`` installs.

Start: build the runtime and the service's dependencies, subscribe the consumers, open the
store, create the topics, start the broker, the relay and the background tasks. Stop: cancel
the tasks, then stop each client within a bound, so a hung one cannot keep the process alive.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from faststream.kafka import KafkaRouter

from contracts.topics import dead_letter_topic
from ikmkit.messaging.authenticity import Authenticity
from ikmkit.messaging.consumer import RedeliveryPolicy
from ikmkit.messaging.kafka_security import kafka_client_options
from ikmkit.messaging.kafka_topics import ensure_topics
from ikmkit.messaging.outbox_metrics import watch_outbox
from ikmkit.messaging.progress import watch_consumers
from ikmkit.service.heap import settle_heap
from ikmkit.service.idempotency import purge_idempotency_keys
from ikmkit.service.production import refuse_unverifiable_producers

if TYPE_CHECKING:
    from ikmkit.service.runtime import Runtime, ServiceDefinition

log = logging.getLogger("ikmkit.service.lifespan")

type Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]
type RuntimeBuilder = Callable[[ServiceDefinition[Any]], Runtime]

STOP_STEP_SECONDS = 10.0
STOP_STEPS = ("broker", "relay", "publisher", "store")
STOP_BUDGET_SECONDS = STOP_STEP_SECONDS * len(STOP_STEPS)
"""The longest the stop can take once uvicorn has drained HTTP: the orchestrator's grace period
must cover the drain (deploy/docker/entrypoint.sh) plus this (tests/deploy/test_shutdown.py)."""


def service_lifespan(build: RuntimeBuilder) -> Lifespan:
    """The lifespan of the app whose ``state.definition`` is the service; ``build`` makes its
    runtime (``ikmkit.service.runtime.build_runtime``: passed in, so this module needs only
    the runtime's types)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        definition: ServiceDefinition[Any] = app.state.definition
        runtime = build(definition)
        runtime.deps = definition.bootstrap(runtime)
        app.state.runtime = runtime
        tasks = await _start(definition, runtime)
        settle_heap()
        try:
            yield
        finally:
            await _stop(runtime, tasks)

    return lifespan


async def _start(definition: ServiceDefinition[Any], runtime: Runtime) -> list[asyncio.Task[None]]:
    consumed = _subscribe_consumers(definition, runtime)
    refuse_unverifiable_producers(definition.name, runtime.settings, runtime.consumers)
    await runtime.store.open(definition.store_collections())
    await runtime.publisher.start()
    runtime.relay.watch_topics(consumed)
    await ensure_topics(
        runtime.settings.kafka_bootstrap_servers,
        [*definition.produces, *consumed],
        partitions=runtime.settings.topic_partitions,
        security=kafka_client_options(runtime.settings),
    )
    await runtime.broker.start()
    runtime.relay.start()
    tasks = [asyncio.create_task(task(runtime.deps, runtime)) for task in definition.background]
    tasks.append(asyncio.create_task(watch_outbox(runtime.store, runtime.name)))
    tasks.append(asyncio.create_task(purge_idempotency_keys(runtime.deps, runtime)))
    if runtime.consumers:
        tasks.append(asyncio.create_task(watch_consumers(runtime)))
    log.info("%s started (store %s)", definition.name, runtime.store.kind)
    return tasks


def _subscribe_consumers(definition: ServiceDefinition[Any], runtime: Runtime) -> list[str]:
    """Build and subscribe every consumer; the topics they read, dead-letter topics included."""
    router = KafkaRouter()
    topics: list[str] = []
    redelivery = RedeliveryPolicy(max_attempts=runtime.settings.consumer_max_attempts)
    authenticity = Authenticity.configured(runtime.settings)
    for spec in definition.consumers:
        consumer = spec.build(runtime.deps, runtime)
        consumer.redelivery = redelivery
        consumer.authenticity = authenticity
        consumer.subscribe(
            router,
            batch=spec.batch,
            max_records=spec.max_records,
            session_timeout_ms=runtime.settings.kafka_session_timeout_ms,
            fetch_max_wait_ms=runtime.settings.kafka_fetch_max_wait_ms,
            commit_interval_ms=runtime.settings.kafka_commit_interval_ms,
        )
        runtime.consumers.append(consumer)
        topics += consumer.topics + [dead_letter_topic(t, consumer.group) for t in consumer.topics]
    runtime.broker.include_router(router)
    return topics


async def _stop(runtime: Runtime, tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    # Each step bounded: a hung client must not keep the process from exiting (the
    # orchestrator would kill it anyway, after its grace period, with less said).
    stops: dict[str, Callable[[], Coroutine[Any, Any, Any]]] = {
        "broker": functools.partial(_stop_broker, runtime),
        "relay": runtime.relay.stop,
        "publisher": runtime.publisher.stop,
        "store": runtime.store.close,
    }
    for step in STOP_STEPS:
        await _stop_bounded(step, stops[step])


async def _stop_broker(runtime: Runtime) -> None:
    """The offsets processed so far committed, then the consumers and producers stopped (a
    batch in flight, which the broker's stop lets finish, is committed as it finishes)."""
    for consumer in runtime.consumers:
        await consumer.commits.close()
    await runtime.broker.stop()


async def _stop_bounded(step: str, stop: Callable[[], Coroutine[Any, Any, Any]]) -> None:
    try:
        await asyncio.wait_for(stop(), STOP_STEP_SECONDS)
    except Exception as exc:
        log.warning("stopping the %s did not finish cleanly: %r", step, exc)
