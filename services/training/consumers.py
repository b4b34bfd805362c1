"""Training's event consumer: the registry's enterprise and MoU events -> the replicas; an
MoU that ends also ends the mentor assignments under it."""

from __future__ import annotations

from contracts.envelope import EnvelopeAttributes
from contracts.registry import MoUExpired, MoUSigned, MoUTerminated
from ikmkit.messaging.consumer import EventConsumer
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


def build_consumer(deps: Training, runtime: Runtime) -> EventConsumer[TrainingUnit]:
    consumer = EventConsumer(group=GROUP, units=deps.units, dead_letters=runtime.publisher)
    for event_type in replicas.ENTERPRISE_EVENTS:
        consumer.handles(event_type)(replicas.on_enterprise_event)
    consumer.handles(MoUSigned)(replicas.on_mou_signed)
    consumer.handles(MoUExpired)(on_mou_ended)
    consumer.handles(MoUTerminated)(on_mou_ended)
    return consumer
