"""The registry's dependencies, composed once per process: its units of work, settings, clock."""

from __future__ import annotations

from dataclasses import dataclass

from ikmkit.clock import Clock, system_clock
from ikmkit.messaging.outbox import Outbox
from ikmkit.service.runtime import Runtime
from ikmkit.store import Store
from ikmkit.unit_of_work import Units
from services.registry.settings import RegistrySettings
from services.registry.store import RegistryUnit


@dataclass(frozen=True)
class Registry:
    units: Units[RegistryUnit]
    settings: RegistrySettings
    clock: Clock


def bootstrap(
    store: Store, outbox: Outbox, settings: RegistrySettings, *, clock: Clock = system_clock
) -> Registry:
    return Registry(Units(store, outbox, RegistryUnit, clock=clock), settings, clock)


def from_runtime(runtime: Runtime, *, clock: Clock = system_clock) -> Registry:
    """``ServiceDefinition.bootstrap``: the registry on the runtime's store and outbox."""
    settings = runtime.settings
    assert isinstance(settings, RegistrySettings)
    return bootstrap(runtime.store, runtime.outbox, settings, clock=clock)
