"""Composition root of the registry service (no I/O at import time).

Run: ``uvicorn services.registry.main:create_app --factory``.
"""

from __future__ import annotations

from fastapi import FastAPI

from contracts.registry import ENTERPRISE_TOPIC
from ikmkit.runtime import ServiceDefinition, create_service_app
from ikmkit.store import Store

from services.registry import api
from services.registry.settings import RegistrySettings
from services.registry.store import COLLECTIONS


def definition(settings: RegistrySettings | None = None, store: Store | None = None) -> ServiceDefinition:
    return ServiceDefinition(
        name="registry",
        settings=settings or RegistrySettings(),
        collections=COLLECTIONS,
        routers=[api.router],
        produces=[ENTERPRISE_TOPIC],
        description="Enterprises (IKM), partners and MoUs: the source of truth of who the programs serve.",
        store=store,
    )


def create_app() -> FastAPI:
    return create_service_app(definition())
