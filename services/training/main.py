"""Composition root of the training service (no I/O at import time).

Run: ``uvicorn services.training.main:create_app --factory``.
"""

from __future__ import annotations

from functools import partial

from fastapi import FastAPI

from contracts.training import COURSE_TOPIC, MENTOR_TOPIC
from ikmkit.clock import Clock, system_clock
from ikmkit.service.runtime import ConsumerSpec, ServiceDefinition, create_service_app
from ikmkit.store import Store
from services.training import api, consumers
from services.training.bootstrap import Training, from_runtime
from services.training.settings import TrainingSettings
from services.training.store import COLLECTIONS


def definition(
    settings: TrainingSettings | None = None,
    store: Store | None = None,
    clock: Clock = system_clock,
) -> ServiceDefinition[Training]:
    return ServiceDefinition(
        name="training",
        settings=settings or TrainingSettings(),
        collections=COLLECTIONS,
        bootstrap=partial(from_runtime, clock=clock),
        routers=[api.router],
        produces=[COURSE_TOPIC, MENTOR_TOPIC],
        consumers=[ConsumerSpec(consumers.build_consumer, batch=True)],
        description="Courses (KSST capacity building, webinars, Diklat 3in1, vocational), "
        "enrollment with a waitlist, certificates, placements, and mentors under MoU.",
        store=store,
    )


def create_app() -> FastAPI:
    return create_service_app(definition())
