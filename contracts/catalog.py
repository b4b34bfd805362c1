"""The registry of every event: CloudEvent type -> model -> topic."""

from __future__ import annotations

import inspect
from types import ModuleType

from contracts import notify, registry, subsidy, training
from contracts.base import Event

EVENT_MODULES: tuple[ModuleType, ...] = (registry, subsidy, training, notify)


def _collect() -> dict[str, type[Event]]:
    models: dict[str, type[Event]] = {}
    for module in EVENT_MODULES:
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if (
                issubclass(obj, Event)
                and obj is not Event
                and obj.__module__ == module.__name__
                and not obj.__name__.startswith("_")  # shared bases, never published
            ):
                models[obj.ce_type()] = obj
    return models


EVENTS_BY_TYPE: dict[str, type[Event]] = _collect()
EVENTS_BY_NAME: dict[str, type[Event]] = {m.__name__: m for m in EVENTS_BY_TYPE.values()}


def model_for(ce_type: str) -> type[Event] | None:
    return EVENTS_BY_TYPE.get(ce_type)


def all_topics() -> list[str]:
    return sorted({model.TOPIC for model in EVENTS_BY_TYPE.values()})


def events_on(topic: str) -> list[type[Event]]:
    return [m for m in EVENTS_BY_TYPE.values() if topic == m.TOPIC]
