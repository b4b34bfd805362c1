"""Start-up refusals: a production service never runs on development defaults.

``create_service_app`` calls ``refuse_unsafe_settings`` before anything is built; the
lifespan calls ``refuse_unverifiable_producers`` once the consumers exist (before any
connection), because only then are the consumed topics known.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from contracts.catalog import owner_of
from ikmkit.messaging.consumer import EventConsumer
from ikmkit.service.settings import ServiceSettings, UnsafeSettings


def producer_of(topic: str) -> str:
    """The service that owns a domain topic (``contracts.catalog.TOPIC_OWNERS``)."""
    owner = owner_of(topic)
    if owner is None:
        raise LookupError(f"topic {topic!r} has no owner in the contract catalog")
    return owner


def refuse_unsafe_settings(name: str, settings: ServiceSettings) -> None:
    problems = settings.key_problems() + settings.production_problems()
    if problems:
        raise UnsafeSettings(name, problems)


def refuse_unverifiable_producers(
    name: str, settings: ServiceSettings, consumers: Iterable[EventConsumer[Any]]
) -> None:
    """In production every producer this service consumes from needs its public key."""
    if not settings.production:
        return
    try:
        producers = {producer_of(t) for c in consumers for t in c.topics}
    except LookupError as exc:
        raise UnsafeSettings(name, [str(exc)]) from exc
    missing = settings.missing_producer_keys(producers - {name})
    if missing:
        raise UnsafeSettings(
            name, [f"IKM_EVENT_PUBLIC_KEYS has no key for {', '.join(missing)} (consumed topics)"]
        )
