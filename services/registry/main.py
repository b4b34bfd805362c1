"""Composition root of the registry service (no I/O at import time).

Run: ``uvicorn services.registry.main:create_app --factory``.
"""

from __future__ import annotations

import asyncio
import logging

from fastapi import FastAPI

from contracts.registry import ENTERPRISE_TOPIC, MOU_TOPIC, PARTNER_TOPIC
from ikmkit.service.runtime import BackgroundTask, Runtime, ServiceDefinition, create_service_app
from ikmkit.store import Store
from services.registry import api, regions, service
from services.registry.service import Clock, Ports
from services.registry.settings import RegistrySettings
from services.registry.store import COLLECTIONS

log = logging.getLogger("ikm.registry")


def mou_expiry_task(clock: Clock, interval: float) -> BackgroundTask:
    """Every ``interval`` seconds, expire the signed MoUs whose end date has passed."""

    async def expire_forever(runtime: Runtime) -> None:
        ports = Ports(runtime.store, runtime.outbox, clock)
        while True:
            try:
                expired = await service.expire_due_mous(ports)
                if expired:
                    log.info("expired %d MoUs", len(expired))
            except Exception:
                log.exception("MoU expiry pass failed; retrying next pass")
            await asyncio.sleep(interval)

    return expire_forever


def definition(
    settings: RegistrySettings | None = None,
    store: Store | None = None,
    clock: Clock = service.system_clock,
) -> ServiceDefinition:
    settings = settings or RegistrySettings()
    regions.warm_up()
    return ServiceDefinition(
        name="registry",
        settings=settings,
        collections=COLLECTIONS,
        routers=[api.build_router(clock)],
        produces=[ENTERPRISE_TOPIC, PARTNER_TOPIC, MOU_TOPIC],
        background=[mou_expiry_task(clock, settings.mou_expiry_interval)],
        description=(
            "Enterprises (IKM), partners and MoUs: the source of truth of who the programs serve."
            " Region codes are Kemendagri codes (those of the NIK)."
        ),
        store=store,
    )


def create_app() -> FastAPI:
    return create_service_app(definition())
