"""Composition root of the insights service (no I/O at import time).

Run: ``uvicorn services.insights.main:create_app --factory``.
"""

from __future__ import annotations

from functools import partial

from fastapi import FastAPI

from contracts.insights import TARGET_TOPIC
from ikmkit.clock import Clock, system_clock
from ikmkit.service.runtime import ConsumerSpec, ServiceDefinition, create_service_app
from ikmkit.store import Store
from services.insights import api, consumers
from services.insights.bootstrap import Insights, from_runtime
from services.insights.dashboard.router import router as dashboard_router
from services.insights.settings import InsightsSettings
from services.insights.store import COLLECTIONS


def definition(
    settings: InsightsSettings | None = None,
    store: Store | None = None,
    clock: Clock = system_clock,
) -> ServiceDefinition[Insights]:
    routers = [api.router, dashboard_router]
    return ServiceDefinition(
        name="insights",
        settings=settings or InsightsSettings(),
        collections=COLLECTIONS,
        bootstrap=partial(from_runtime, clock=clock),
        routers=routers,
        produces=[TARGET_TOPIC],
        consumers=[ConsumerSpec(consumers.build_consumer, batch=True, max_records=5000)],
        description="Program indicators built from every domain event (enterprises, partners, "
        "MoUs and link-and-match, courses and participants, Diklat 3in1, subsidies, mentoring, "
        "notifications), regional targets and progress, CSV/XLSX export.",
        store=store,
    )


def create_app() -> FastAPI:
    return create_service_app(definition())
