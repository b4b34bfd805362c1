"""The registry's dependencies, composed once: its units of work, settings and clock."""

from __future__ import annotations

from collections.abc import Callable
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
    store: Store,
    outbox: Outbox,
    settings: RegistrySettings | None = None,
    *,
    clock: Clock = system_clock,
) -> Registry:
    units = Units(store, outbox, RegistryUnit, clock=clock)
    return Registry(units, settings or RegistrySettings(), clock)


def from_runtime(clock: Clock = system_clock) -> Callable[[Runtime], Registry]:
    """``ServiceDefinition.bootstrap``: the registry on the runtime's store and outbox."""

    def build(runtime: Runtime) -> Registry:
        settings = runtime.settings
        assert isinstance(settings, RegistrySettings)
        return bootstrap(runtime.store, runtime.outbox, settings, clock=clock)

    return build
