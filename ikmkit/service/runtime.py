"""Composition of a service process: store, outbox relay, Kafka consumers, HTTP API.

A service's ``main.py`` builds a ``ServiceDefinition`` and calls
``create_service_app``; nothing touches the network or disk until the FastAPI
lifespan starts (``ikmkit.service.lifespan``), so importing ``main`` has no side effects.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.telemetry import TelemetryConfig
from faststream.kafka import KafkaBroker

from contracts.topics import source_of
from ikmkit.audit import heads_api as audit_heads
from ikmkit.auth import TokenVerifier
from ikmkit.messaging.consumer import EventConsumer
from ikmkit.messaging.inbox import INBOX_COLLECTIONS
from ikmkit.messaging.kafka import KafkaLogProbe, KafkaPublisher
from ikmkit.messaging.kafka_security import faststream_security, kafka_client_options
from ikmkit.messaging.outbox import OUTBOX_COLLECTIONS, Outbox
from ikmkit.messaging.outbox_ops import ops_router
from ikmkit.messaging.progress import ConsumerProgress
from ikmkit.messaging.relay import OutboxRelay
from ikmkit.messaging.signing import signer_from_key
from ikmkit.service import idempotency
from ikmkit.service.asyncapi_routes import router as asyncapi_router
from ikmkit.service.edge import ServiceEdge
from ikmkit.service.health import NamedCheck, default_checks, health_router
from ikmkit.service.http import (
    install_error_handlers,
    install_request_guard,
)
from ikmkit.service.instance import instance_id
from ikmkit.service.lifespan import service_lifespan
from ikmkit.service.openapi import install_openapi
from ikmkit.service.production import refuse_unsafe_settings
from ikmkit.service.query_guard import refuse_unknown_query
from ikmkit.service.settings import ServiceSettings
from ikmkit.store import CollectionSpec, Store
from ikmkit.store.resolve import store_for
from ikmkit.telemetry.otel import configure_logging, setup_tracing

log = logging.getLogger("ikmkit.service.runtime")


UNTRACED_PATHS = frozenset({"/healthz", "/readyz", "/readyz/traffic", "/metrics"})
"""Probes and scrapes: a span each would be noise (the HTTP metric still counts them)."""

NO_FASTAPI_TELEMETRY: TelemetryConfig = {
    "tracing": False, "metrics": False, "logs": False, "operation_spans": False,
}  # fmt: skip

type BackgroundTask[D] = Callable[[D, Runtime], Coroutine[Any, Any, None]]
"""A task that runs for the life of the process, given the service's dependencies."""


@dataclass(frozen=True)
class ConsumerSpec[D]:
    """Builds one consumer group's ``EventConsumer`` from the service's dependencies."""

    build: Callable[[D, Runtime], EventConsumer[Any]]
    batch: bool = False
    max_records: int = 500


def runtime_itself(runtime: Runtime) -> Any:
    """The default bootstrap: a service without dependencies of its own gets the runtime."""
    return runtime


@dataclass
class ServiceDefinition[D]:
    """What a service is made of. ``bootstrap`` composes its typed dependencies (its
    ``Units``, clock, settings, clients) from the runtime's store, outbox and publisher, once
    they exist; consumers, background tasks and endpoints receive that one object."""

    name: str
    settings: ServiceSettings
    collections: Sequence[CollectionSpec]
    bootstrap: Callable[[Runtime], D] = runtime_itself
    routers: Sequence[APIRouter] = ()
    produces: Sequence[str] = ()
    consumers: Sequence[ConsumerSpec[D]] = ()
    background: Sequence[BackgroundTask[D]] = ()
    readiness: Sequence[NamedCheck] = ()  # this service's checks, after ikmkit.service.health's
    description: str = ""
    store: Store | None = None  # injected by tests; otherwise resolved from settings

    def store_collections(self) -> list[CollectionSpec]:
        """Every collection of the service's store: its own plus the outbox's, the inbox's and
        the ``Idempotency-Key`` records' (any creating route may take the header).

        The one list the service opens its store with; tools that open a service's
        store (``ikm audit rebuild``) use it too, so they can read all of it.
        """
        return [
            *self.collections,
            *OUTBOX_COLLECTIONS,
            *INBOX_COLLECTIONS,
            *idempotency.COLLECTIONS,
        ]


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
    consumers: list[EventConsumer[Any]] = field(default_factory=list)
    progress: ConsumerProgress = field(default_factory=ConsumerProgress)
    deps: Any = None
    """The service's dependencies, as its ``bootstrap`` built them."""


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


async def _runtime_dependency(request: Request) -> Runtime:
    # async: FastAPI runs sync dependencies in a threadpool, a hop per request.
    return runtime_of(request)


RuntimeDep = Annotated[Runtime, Depends(_runtime_dependency)]
"""Inject the service's runtime into a FastAPI endpoint."""


def deps_of[D](request: Request, kind: type[D]) -> D:
    """The service's dependencies (what its ``bootstrap`` built), checked to be a ``kind``."""
    deps = runtime_of(request).deps
    if not isinstance(deps, kind):
        raise TypeError(f"the service's dependencies are a {type(deps).__name__}, not {kind}")
    return deps


def build_runtime(definition: ServiceDefinition[Any]) -> Runtime:
    """The clients, built from the settings; none connects until the lifespan starts."""
    settings = definition.settings
    store = definition.store or store_for(
        definition.name, mongodb_url=settings.mongodb_url, data_dir=settings.data_dir
    )
    signing_key = settings.event_signing_key
    outbox = Outbox(
        source_of(definition.name),
        signer=signer_from_key(signing_key.get_secret_value()) if signing_key else None,
    )
    publisher = KafkaPublisher(
        settings.kafka_bootstrap_servers,
        client_id=f"ikm-{definition.name}",
        security=kafka_client_options(settings),
        max_message_bytes=settings.outbox_max_message_bytes,
    )
    relay = _outbox_relay(definition, store, publisher)
    outbox.on_add(relay.wake)
    broker = _kafka_broker(definition)
    progress = ConsumerProgress(settings.consumer_stall_seconds)
    return Runtime(
        definition.name, settings, store, outbox, publisher, relay, broker, progress=progress
    )


def _outbox_relay(
    definition: ServiceDefinition[Any], store: Store, publisher: KafkaPublisher
) -> OutboxRelay:
    settings = definition.settings
    probe = KafkaLogProbe(
        settings.kafka_bootstrap_servers,
        partitions=settings.topic_partitions,
        client_id=f"ikm-{definition.name}-log",
        security=kafka_client_options(settings),
    )
    return OutboxRelay(
        store,
        publisher,
        batch_size=settings.outbox_batch_size,
        poll_interval=settings.outbox_poll_interval,
        log_probe=probe,
        topics=definition.produces,
        verify_interval=settings.outbox_verify_interval,
        service=definition.name,
    )


def _kafka_broker(definition: ServiceDefinition[Any]) -> KafkaBroker:
    settings = definition.settings
    return KafkaBroker(
        settings.kafka_bootstrap_servers,
        client_id=f"ikm-{definition.name}",
        security=faststream_security(settings),
        logger=logging.getLogger(f"ikm.{definition.name}.broker"),
        # FastStream's "Received" and "Processed" for every message (every batch): two lines
        # per event at a steady trickle. Failures it sees are ERROR lines whatever this says.
        log_level=logging.DEBUG,
        # No FastDepends: it resolved a handler's ``message`` parameter with a plain function
        # run on anyio's worker threads, a thread round trip per batch (~4 ms p50 in notify at
        # 100 events/s; none consumed while those threads were busy). Handlers get the message
        # from the subscribers' decoder (ikmkit.messaging.consumer).
        apply_types=False,
    )


def create_service_app(definition: ServiceDefinition[Any]) -> FastAPI:
    refuse_unsafe_settings(definition.name, definition.settings)
    configure_logging(definition.name)
    provider = setup_tracing(definition.name)
    app = FastAPI(
        title=f"IKM {definition.name} service",
        description=definition.description,
        version="1.0.0",
        lifespan=service_lifespan(build_runtime),
        # FastAPI's own telemetry off: the request's span and the HTTP metric are
        # ServiceEdge's; its per-operation spans (dependencies, endpoint,
        # serialization) would triple a request's spans for nothing they tell.
        telemetry=NO_FASTAPI_TELEMETRY,
        dependencies=[Depends(refuse_unknown_query)],
    )
    app.state.definition = definition
    app.state.token_verifier = TokenVerifier.from_settings(definition.settings)
    app.state.started = time.time()
    install_error_handlers(app)
    install_openapi(app, public_url=definition.settings.public_url)
    install_request_guard(
        app,
        max_bytes=definition.settings.max_request_bytes,
        bulk_max_bytes=definition.settings.max_bulk_request_bytes,
    )
    # The service's own routes first: FastAPI tries routers in order, and each router passed
    # costs every request a match of its routes (a tenth of a registration's CPU).
    for router in definition.routers:
        app.include_router(router)
    app.include_router(health_router([*default_checks(), *definition.readiness]))
    app.include_router(audit_heads.router)
    app.include_router(ops_router())
    app.include_router(asyncapi_router)
    # Outside the door: the server span, the instance header and the HTTP metric, one layer
    # (the door and every handler run inside the request's span: their logs carry its id).
    app.add_middleware(
        ServiceEdge, service=definition.name, instance=instance_id(),
        tracer_provider=provider, untraced=UNTRACED_PATHS,
    )  # fmt: skip
    return app
