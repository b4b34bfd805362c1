"""Notify's event consumer: a batch of fresh events goes to ``notify_about_batch`` in one
unit of work (bulk writes); the per-event handler serves the kit's one-by-one fallback."""

from __future__ import annotations

from contracts.base import Event
from contracts.envelope import EnvelopeAttributes
from ikmkit.messaging.consumer import EventConsumer
from ikmkit.service.runtime import Runtime
from ikmkit.store import Transaction
from services.notify import rules, service
from services.notify.wiring import components

GROUP = "notify"


def build_consumer(runtime: Runtime) -> EventConsumer:
    consumer = EventConsumer(group=GROUP, store=runtime.store, dead_letters=runtime.publisher)
    deciding = components(runtime).deciding

    async def on_event(event: Event, meta: EnvelopeAttributes, uow: Transaction) -> None:
        await service.notify_about(event, meta, uow, deciding)

    async def on_batch(items: list[tuple[Event, EnvelopeAttributes]], uow: Transaction) -> None:
        await service.notify_about_batch(items, uow, deciding)

    for event_type in rules.consumed_events():
        consumer.handles(event_type)(on_event)
    consumer.handles_batch(on_batch)
    return consumer
