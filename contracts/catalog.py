"""The registry of every event: CloudEvent type -> model -> topic -> owning service.

Each contract module belongs to exactly one service, the only one that may
publish its events: a topic's owner is the service whose module declares the
events on it, and that service's events carry ``ce_source = /ikm/<service>``
(``contracts.topics.source_of``). Consumers dead-letter anything else as forged.
"""

from __future__ import annotations

import inspect
from types import ModuleType

from contracts import insights, notify, registry, subsidy, training
from contracts.base import Event
from contracts.topics import source_of

MODULES_BY_SERVICE: dict[str, ModuleType] = {
    "registry": registry,
    "subsidy": subsidy,
    "training": training,
    "notify": notify,
    "insights": insights,
}
"""The contract module of each service: the events it, and only it, publishes."""

EVENT_MODULES: tuple[ModuleType, ...] = tuple(MODULES_BY_SERVICE.values())


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


def _owners() -> dict[str, str]:
    owners: dict[str, str] = {}
    for service, module in MODULES_BY_SERVICE.items():
        for model in EVENTS_BY_TYPE.values():
            if model.__module__ == module.__name__:
                claimed = owners.setdefault(model.TOPIC, service)
                if claimed != service:
                    raise RuntimeError(f"topic {model.TOPIC} is owned by {claimed} and {service}")
    return owners


TOPIC_OWNERS: dict[str, str] = _owners()
"""Topic -> the one service allowed to publish on it."""


def owner_of(topic: str) -> str | None:
    """The service that owns ``topic`` (None: not a contract topic)."""
    return TOPIC_OWNERS.get(topic)


def misattributed(topic: str, model: type[Event] | None, source: str) -> str | None:
    """Why an event of contract ``model`` from ``source``, read from ``topic``, is not its
    owner's (None: it may be). ``model`` None (a type without a contract): only the topic's
    owner is checked. The one rule of the platform's consumers, ``ikm audit replay`` and
    ``contracts.verify``."""
    arrived_on = owner_of(topic)
    owner = arrived_on if model is None else owner_of(model.TOPIC)
    if owner is None:  # a contract event always has an owner; be safe if not
        return None if model is None else f"no owner for {model.ce_type()} in the catalog"
    if model is not None and arrived_on is not None:
        if arrived_on != owner:
            return f"{model.ce_type()} belongs to {owner}, not on {topic}"
        if topic != model.TOPIC:
            # The owner publishes each type on its one topic (ordered there by aggregate):
            # a copy on another of its topics is someone else's doing.
            return f"{model.ce_type()} is published on {model.TOPIC}, not {topic}"
    if source != source_of(owner):
        return f"ce_source {shown(source)} is not {source_of(owner)}, owner of {topic}"
    return None


def shown(value: str) -> str:
    """A header value quoted for an error message, bounded (it is attacker-controlled)."""
    return repr(value if len(value) <= 80 else value[:80] + "...")
