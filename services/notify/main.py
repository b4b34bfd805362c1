"""Composition root of the notify service (no I/O at import time)."""

from __future__ import annotations

from fastapi import FastAPI

from ikmkit.runtime import ConsumerSpec, ServiceDefinition, create_service_app
from ikmkit.store import Store

from services.notify import api, consumers
from services.notify.settings import NotifySettings
from services.notify.store import COLLECTIONS


def definition(settings: NotifySettings | None = None, store: Store | None = None) -> ServiceDefinition:
    return ServiceDefinition(
        name="notify",
        settings=settings or NotifySettings(),
        collections=COLLECTIONS,
        routers=[api.router],
        consumers=[ConsumerSpec(consumers.build_consumer, batch=True)],
        description="Tells people and systems about events: e-mail, webhooks, in-app inbox.",
        store=store,
    )


def create_app() -> FastAPI:
    return create_service_app(definition())
