"""Composition root of the notify service (no I/O at import time)."""

from __future__ import annotations

from fastapi import FastAPI

from contracts.notify import DELIVERY_TOPIC
from ikmkit.service.runtime import ConsumerSpec, ServiceDefinition, create_service_app
from ikmkit.store import Store
from services.notify import api, consumers
from services.notify.settings import NotifySettings
from services.notify.store import COLLECTIONS
from services.notify.wiring import run_dispatcher


def definition(
    settings: NotifySettings | None = None, store: Store | None = None
) -> ServiceDefinition:
    return ServiceDefinition(
        name="notify",
        settings=settings or NotifySettings(),
        collections=COLLECTIONS,
        routers=[api.router],
        produces=[DELIVERY_TOPIC],
        consumers=[ConsumerSpec(consumers.build_consumer, batch=True, max_records=1000)],
        background=[run_dispatcher],
        description="Tells people and systems about events: e-mail, signed webhooks, in-app inbox.",
        store=store,
    )


def create_app() -> FastAPI:
    return create_service_app(definition())
