"""Composition root of the registry service (no I/O at import time).

Run: ``uvicorn services.registry.main:create_app --factory``.
"""

from __future__ import annotations

import asyncio
import logging
from functools import partial

from fastapi import FastAPI

from contracts.registry import ENTERPRISE_TOPIC, MOU_TOPIC, PARTNER_TOPIC
from ikmkit.clock import Clock, system_clock
from ikmkit.service.runtime import Runtime, ServiceDefinition, create_service_app
from ikmkit.store import Store
from services.registry import api
from services.registry.bootstrap import Registry, from_runtime
from services.registry.domain import regions
from services.registry.handlers.enterprises import key_campaign_rows
from services.registry.handlers.mous import expire_due_mous
from services.registry.settings import RegistrySettings
from services.registry.store import COLLECTIONS

log = logging.getLogger("ikm.registry")


async def expire_mous(deps: Registry, runtime: Runtime) -> None:
    """Every ``mou_expiry_interval`` seconds, expire the signed MoUs past their end date."""
    while True:
        try:
            expired = await expire_due_mous(deps.units)
            if expired:
                log.info("expired %d MoUs", len(expired))
        except Exception:
            log.exception("MoU expiry pass failed; retrying next pass")
        await asyncio.sleep(deps.settings.mou_expiry_interval)


async def key_campaign_tags(deps: Registry, runtime: Runtime) -> None:
    """Once per store, at start: campaign tag rows stored under a spelling moved to their key
    (``key_campaign_rows``); until it ends, ``?campaign=`` may miss those enterprises."""
    try:
        if await key_campaign_rows(deps.units):
            log.info("campaign tag rows keyed (campaign_key)")
    except Exception:
        log.exception("keying campaign tag rows failed; it runs again at the next start")


def definition(
    settings: RegistrySettings | None = None,
    store: Store | None = None,
    clock: Clock = system_clock,
) -> ServiceDefinition[Registry]:
    settings = settings or RegistrySettings()
    regions.warm_up()
    return ServiceDefinition(
        name="registry",
        settings=settings,
        collections=COLLECTIONS,
        bootstrap=partial(from_runtime, clock=clock),
        routers=[api.router],
        produces=[ENTERPRISE_TOPIC, PARTNER_TOPIC, MOU_TOPIC],
        background=[expire_mous, key_campaign_tags],
        description=(
            "Enterprises (IKM), partners and MoUs: the source of truth of who the programs serve."
            " Region codes are Kemendagri codes (those of the NIK)."
        ),
        store=store,
    )


def create_app() -> FastAPI:
    return create_service_app(definition())
