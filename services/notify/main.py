"""Composition root of the notify service (no I/O at import time)."""

from __future__ import annotations

from functools import partial

from fastapi import FastAPI

from contracts.notify import DELIVERY_TOPIC
from ikmkit.clock import Clock, system_clock
from ikmkit.service.runtime import ConsumerSpec, ServiceDefinition, create_service_app
from ikmkit.store import Store
from services.notify import api, consumers
from services.notify.bootstrap import Notify, from_runtime, run_dispatcher
from services.notify.settings import NotifySettings
from services.notify.store import COLLECTIONS


def definition(
    settings: NotifySettings | None = None, store: Store | None = None, clock: Clock = system_clock
) -> ServiceDefinition[Notify]:
    return ServiceDefinition(
        name="notify",
        settings=settings or NotifySettings(),
        collections=COLLECTIONS,
        bootstrap=partial(from_runtime, clock=clock),
        routers=[api.router],
        produces=[DELIVERY_TOPIC],
        consumers=[ConsumerSpec(consumers.build_consumer, batch=True, max_records=1000)],
        background=[run_dispatcher],
        description="Tells people and systems about events: e-mail, signed webhooks, in-app inbox.",
        store=store,
    )


def create_app() -> FastAPI:
    return create_service_app(definition())
