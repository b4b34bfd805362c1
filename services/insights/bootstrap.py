"""The insights service's dependencies, composed once: its units of work, settings and clock
(progress measures the elapsed share of the fiscal year by it). Tests swap in a store or a
fixed clock by argument."""

from __future__ import annotations

from dataclasses import dataclass

from ikmkit.clock import Clock, system_clock
from ikmkit.messaging.outbox import Outbox
from ikmkit.service.runtime import Runtime
from ikmkit.store import Store
from ikmkit.unit_of_work import Units
from services.insights.settings import InsightsSettings
from services.insights.store import InsightsUnit


@dataclass(frozen=True)
class Insights:
    units: Units[InsightsUnit]
    settings: InsightsSettings
    clock: Clock


def bootstrap(
    store: Store, outbox: Outbox, settings: InsightsSettings, *, clock: Clock = system_clock
) -> Insights:
    units = Units(store, outbox, InsightsUnit, clock=clock)
    return Insights(units=units, settings=settings, clock=clock)


def from_runtime(runtime: Runtime, *, clock: Clock = system_clock) -> Insights:
    settings = runtime.settings
    if not isinstance(settings, InsightsSettings):
        raise TypeError(f"insights runs on InsightsSettings, not {type(settings).__name__}")
    return bootstrap(runtime.store, runtime.outbox, settings, clock=clock)
