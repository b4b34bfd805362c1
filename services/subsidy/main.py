"""Composition root of the subsidy service (no I/O at import time)."""

from __future__ import annotations

from fastapi import FastAPI

from ikmkit.runtime import ServiceDefinition, create_service_app
from ikmkit.store import Store

from services.subsidy.settings import SubsidySettings


def definition(settings: SubsidySettings | None = None, store: Store | None = None) -> ServiceDefinition:
    return ServiceDefinition(
        name="subsidy",
        settings=settings or SubsidySettings(),
        collections=(),
        store=store,
    )


def create_app() -> FastAPI:
    return create_service_app(definition())
