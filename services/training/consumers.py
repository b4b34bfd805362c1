"""Training's event consumers: registry events -> the enterprise and MoU replicas."""

from __future__ import annotations

from typing import Any

from contracts.envelope import EnvelopeAttributes
from contracts.registry import (
    EnterpriseRegistered,
    EnterpriseReinstated,
    EnterpriseSuspended,
    EnterpriseUpdated,
    EnterpriseVerified,
    MoUExpired,
    MoUSigned,
    MoUTerminated,
)
from ikmkit.messaging.consumer import EventConsumer
from ikmkit.service.runtime import Runtime
from ikmkit.store import Transaction
from services.training import mentoring, service

GROUP = "training"

ENTERPRISE_EVENTS = (
    EnterpriseRegistered,
    EnterpriseUpdated,
    EnterpriseVerified,
    EnterpriseSuspended,
    EnterpriseReinstated,
)


def build_consumer(runtime: Runtime) -> EventConsumer:
    consumer = EventConsumer(group=GROUP, store=runtime.store, dead_letters=runtime.publisher)
    for event_type in ENTERPRISE_EVENTS:
        consumer.handles(event_type)(service.apply_enterprise_event)
    consumer.handles(MoUSigned)(mentoring.apply_mou_signed)

    async def on_mou_ended(event: Any, meta: EnvelopeAttributes, uow: Transaction) -> None:
        await mentoring.apply_mou_ended(event, meta, uow, runtime.outbox)

    consumer.handles(MoUExpired)(on_mou_ended)
    consumer.handles(MoUTerminated)(on_mou_ended)
    return consumer
