"""Composition root of the subsidy service (no I/O at import time).

Run: ``uvicorn services.subsidy.main:create_app --factory``.
"""

from __future__ import annotations

from functools import partial

from fastapi import FastAPI

from contracts.subsidy import APPLICATION_TOPIC, BUDGET_TOPIC
from ikmkit.clock import Clock, system_clock
from ikmkit.service.runtime import ConsumerSpec, ServiceDefinition, create_service_app
from ikmkit.store import Store
from services.subsidy import api, consumers
from services.subsidy.bootstrap import Subsidy, from_runtime
from services.subsidy.settings import SubsidySettings
from services.subsidy.store import COLLECTIONS


def definition(
    settings: SubsidySettings | None = None,
    store: Store | None = None,
    clock: Clock = system_clock,
) -> ServiceDefinition[Subsidy]:
    return ServiceDefinition(
        name="subsidy",
        settings=settings or SubsidySettings(),
        collections=COLLECTIONS,
        bootstrap=partial(from_runtime, clock=clock),
        routers=[api.router],
        produces=[APPLICATION_TOPIC, BUDGET_TOPIC],
        consumers=[ConsumerSpec(consumers.build_consumer, batch=True)],
        description="Machine-restructuring rebates and free TKDN certification, within budget.",
        store=store,
    )


def create_app() -> FastAPI:
    return create_service_app(definition())
