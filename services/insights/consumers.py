"""Insights' event consumer: every event type of every domain topic it follows (read from
the contract catalog, so a type added to a topic later is handled too) is counted; a batch is
counted in one unit of work, and the one-by-one fallback counts each event alone."""

from __future__ import annotations

from typing import Any

from contracts.catalog import events_on
from contracts.envelope import EnvelopeAttributes
from ikmkit.messaging.consumer import EventConsumer
from ikmkit.service.runtime import Runtime
from services.insights.bootstrap import Insights
from services.insights.handlers import events
from services.insights.store import InsightsUnit

GROUP = "insights"


async def on_event(event: Any, meta: EnvelopeAttributes, uow: InsightsUnit) -> None:
    await events.count_events(uow, [(event, meta)])


async def on_batch(items: list[tuple[Any, EnvelopeAttributes]], uow: InsightsUnit) -> None:
    await events.count_events(uow, items)


def build_consumer(deps: Insights, runtime: Runtime) -> EventConsumer[InsightsUnit]:
    consumer = EventConsumer(group=GROUP, units=deps.units, dead_letters=runtime.publisher)
    for topic in events.TOPICS:
        for event_type in events_on(topic):
            consumer.handles(event_type)(on_event)
    consumer.handles_batch(on_batch)
    return consumer
