"""Training's event consumer: the registry's enterprise and MoU events -> the replicas; an
MoU that ends also ends the mentor assignments under it."""

from __future__ import annotations

from typing import Any

from contracts.base import Event
from contracts.envelope import EnvelopeAttributes
from contracts.registry import ENTERPRISE_TOPIC, MOU_TOPIC, MoUExpired, MoUSigned, MoUTerminated
from ikmkit.messaging.consumer import EventConsumer
from ikmkit.messaging.inbox import Handler
from ikmkit.service.runtime import Runtime
from services.training import replicas
from services.training.bootstrap import Training
from services.training.handlers import mentoring
from services.training.store import TrainingUnit

GROUP = "training"


async def on_mou_ended(
    event: MoUExpired | MoUTerminated, meta: EnvelopeAttributes, uow: TrainingUnit
) -> None:
    if await replicas.apply_mou_ended(event, meta, uow) is None:
        return
    if isinstance(event, MoUExpired):
        await mentoring.end_assignments_under(uow, event.mou_id, "mou_expired", event.expired_at)
    else:
        at = event.terminated_at
        await mentoring.end_assignments_under(uow, event.mou_id, "mou_terminated", at)


HANDLERS: dict[type[Event], Handler[TrainingUnit]] = {
    **dict.fromkeys(replicas.ENTERPRISE_EVENTS, replicas.on_enterprise_event),
    MoUSigned: replicas.on_mou_signed,
    MoUExpired: on_mou_ended,
    MoUTerminated: on_mou_ended,
}


async def on_batch(items: list[tuple[Any, EnvelopeAttributes]], uow: TrainingUnit) -> None:
    """A batch in one unit of work: the replicas it concerns read in one query each, then
    each event in order, as alone (an event sees what the ones before it wrote)."""
    enterprises = [m.subject for e, m in items if e.TOPIC == ENTERPRISE_TOPIC]
    await replicas.ENTERPRISES.prefetch(uow.tx, enterprises)
    await replicas.MOUS.prefetch(uow.tx, [m.subject for e, m in items if e.TOPIC == MOU_TOPIC])
    for event, meta in items:
        await HANDLERS[type(event)](event, meta, uow)


def build_consumer(deps: Training, runtime: Runtime) -> EventConsumer[TrainingUnit]:
    consumer = EventConsumer(group=GROUP, units=deps.units, dead_letters=runtime.publisher)
    for event_type, handler in HANDLERS.items():
        consumer.handles(event_type)(handler)
    consumer.handles_batch(on_batch)
    return consumer
