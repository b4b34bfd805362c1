"""Notify's event consumer: a batch of fresh events is decided in one unit of work (bulk
writes); the per-event handler serves the kit's one-by-one fallback."""

from __future__ import annotations

from contracts.base import Event
from contracts.envelope import EnvelopeAttributes
from ikmkit.messaging.consumer import EventConsumer
from ikmkit.service.runtime import Runtime
from services.notify import handlers
from services.notify.bootstrap import Notify
from services.notify.domain import rules
from services.notify.domain.model import SENT_LATER
from services.notify.store import NotifyUnit

GROUP = "notify"
BACKLOG_EVENTS = 100  # a batch this large: the consumer is catching up, not keeping pace


def build_consumer(deps: Notify, runtime: Runtime) -> EventConsumer[NotifyUnit]:
    consumer = EventConsumer(group=GROUP, units=deps.units, dead_letters=runtime.publisher)

    async def on_batch(items: list[tuple[Event, EnvelopeAttributes]], uow: NotifyUnit) -> None:
        if len(items) >= BACKLOG_EVENTS:
            deps.dispatcher.consumer_behind()
        made = await handlers.notify_about(uow, items, deps.configured_contacts, deps.subscriptions)
        if any(n.channel in SENT_LATER for n in made):
            uow.after_commit(deps.dispatcher.wake)  # committed, the dispatcher finds them

    async def on_event(event: Event, meta: EnvelopeAttributes, uow: NotifyUnit) -> None:
        await on_batch([(event, meta)], uow)

    for event_type in rules.consumed_events():
        consumer.handles(event_type)(on_event)
    consumer.handles_batch(on_batch)
    return consumer
