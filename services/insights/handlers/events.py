"""The consumer's write path: every event of the topics insights follows is counted into a
``Tally`` (through the replicas where an event needs what an earlier one said), and the tally
is written once per unit of work: a whole batch, or one event on the one-by-one fallback."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from contracts.envelope import EnvelopeAttributes
from contracts.notify import DELIVERY_TOPIC
from contracts.registry import ENTERPRISE_TOPIC, MOU_TOPIC, PARTNER_TOPIC
from contracts.subsidy import APPLICATION_TOPIC, BUDGET_TOPIC
from contracts.training import COURSE_TOPIC, MENTOR_TOPIC
from services.insights.domain.tally import Tally
from services.insights.handlers import programs, registry
from services.insights.store import InsightsUnit

type Counter = Callable[[Any, EnvelopeAttributes, InsightsUnit, Tally], Awaitable[None]]
type PlainCounter = Callable[[Any, str | None, Tally], None]

REPLICATED: dict[str, Counter] = {
    ENTERPRISE_TOPIC: registry.count_enterprise_event,
    PARTNER_TOPIC: registry.count_partner_event,
    MOU_TOPIC: registry.count_mou_event,
}
PLAIN: dict[str, PlainCounter] = {
    COURSE_TOPIC: programs.count_course_event,
    MENTOR_TOPIC: programs.count_mentor_event,
    APPLICATION_TOPIC: programs.count_application_event,
    BUDGET_TOPIC: programs.count_budget_event,
    DELIVERY_TOPIC: programs.count_delivery_event,
}
TOPICS: tuple[str, ...] = (*REPLICATED, *PLAIN)
"""Every topic insights follows; every event type on them is handled."""


async def count(uow: InsightsUnit, event: Any, meta: EnvelopeAttributes, tally: Tally) -> None:
    topic = type(event).TOPIC
    replicated = REPLICATED.get(topic)
    if replicated is not None:
        await replicated(event, meta, uow, tally)
    else:
        PLAIN[topic](event, meta.region, tally)


async def count_events(uow: InsightsUnit, items: Sequence[tuple[Any, EnvelopeAttributes]]) -> None:
    """Count a batch of events, in order, and write every touched cell once."""
    tally = Tally()
    await uow.replicas.load(items)
    for event, meta in items:
        await count(uow, event, meta, tally)
    await uow.replicas.flush()
    await uow.counts.apply(tally)
