"""Composition root of the training service (no I/O at import time)."""

from __future__ import annotations

from fastapi import FastAPI

from ikmkit.runtime import ServiceDefinition, create_service_app
from ikmkit.store import Store

from services.training.settings import TrainingSettings


def definition(settings: TrainingSettings | None = None, store: Store | None = None) -> ServiceDefinition:
    return ServiceDefinition(
        name="training",
        settings=settings or TrainingSettings(),
        collections=(),
        store=store,
    )


def create_app() -> FastAPI:
    return create_service_app(definition())
