"""The training service's dependencies, composed once: its units of work, settings, clock
and the HMAC keys of certificates and pseudonyms. Tests swap in a store or clock by argument."""

from __future__ import annotations

from dataclasses import dataclass

from ikmkit.clock import Clock, system_clock
from ikmkit.messaging.outbox import Outbox
from ikmkit.service.runtime import Runtime
from ikmkit.store import Store
from ikmkit.unit_of_work import Units
from services.training.domain.rules import Keys
from services.training.settings import TrainingSettings
from services.training.store import TrainingUnit


@dataclass(frozen=True)
class Training:
    units: Units[TrainingUnit]
    settings: TrainingSettings
    keys: Keys
    clock: Clock


def bootstrap(
    store: Store, outbox: Outbox, settings: TrainingSettings, *, clock: Clock = system_clock
) -> Training:
    keys = Keys(
        certificate=settings.certificate_key.get_secret_value().encode(),
        pseudonym=settings.pseudonym_key.get_secret_value().encode(),
    )
    units = Units(store, outbox, TrainingUnit, clock=clock)
    return Training(units=units, settings=settings, keys=keys, clock=clock)


def from_runtime(runtime: Runtime, *, clock: Clock = system_clock) -> Training:
    settings = runtime.settings
    if not isinstance(settings, TrainingSettings):
        raise TypeError(f"training runs on TrainingSettings, not {type(settings).__name__}")
    return bootstrap(runtime.store, runtime.outbox, settings, clock=clock)
