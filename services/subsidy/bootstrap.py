"""The subsidy service's dependencies, composed once per process."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from ikmkit.clock import Clock, system_clock
from ikmkit.messaging.outbox import Outbox
from ikmkit.service.runtime import Runtime
from ikmkit.store import Store
from ikmkit.unit_of_work import Units
from services.subsidy.settings import SubsidySettings
from services.subsidy.store import SubsidyUnit


@dataclass(frozen=True)
class Subsidy:
    units: Units[SubsidyUnit]
    settings: SubsidySettings
    clock: Clock
    approval_gate: asyncio.Semaphore
    """Bounds the approvals this process races at once, so a burst does not become a storm
    of doomed attempts (each lost race costs a whole unit of work). Correctness does not
    depend on it: the versioned budget does."""


def bootstrap(
    store: Store, outbox: Outbox, settings: SubsidySettings, *, clock: Clock = system_clock
) -> Subsidy:
    return Subsidy(
        units=Units(store, outbox, SubsidyUnit, clock=clock),
        settings=settings,
        clock=clock,
        approval_gate=asyncio.Semaphore(settings.approval_concurrency),
    )


def from_runtime(runtime: Runtime, *, clock: Clock = system_clock) -> Subsidy:
    settings = runtime.settings
    assert isinstance(settings, SubsidySettings)
    return bootstrap(runtime.store, runtime.outbox, settings, clock=clock)
