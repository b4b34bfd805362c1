"""Subsidy's event consumers: the registry's enterprise events feed the local replica."""

from __future__ import annotations

from contracts.envelope import EnvelopeAttributes
from contracts.registry import (
    EnterpriseClassChanged,
    EnterpriseRegistered,
    EnterpriseReinstated,
    EnterpriseSuspended,
    EnterpriseUpdated,
    EnterpriseVerified,
)
from ikmkit.messaging.consumer import EventConsumer
from ikmkit.service.runtime import Runtime
from ikmkit.store import Transaction
from services.subsidy import service

GROUP = "subsidy"


def build_consumer(runtime: Runtime) -> EventConsumer:
    consumer = EventConsumer(group=GROUP, store=runtime.store, dead_letters=runtime.publisher)
    consumer.handles(EnterpriseRegistered)(service.replicate_registered)
    consumer.handles(EnterpriseUpdated)(service.replicate_updated)
    consumer.handles(EnterpriseVerified)(service.replicate_verified)
    consumer.handles(EnterpriseClassChanged)(service.replicate_class_changed)

    @consumer.handles(EnterpriseSuspended)
    async def on_suspended(
        event: EnterpriseSuspended, meta: EnvelopeAttributes, uow: Transaction
    ) -> None:
        await service.hold_applications(event, meta, uow, runtime.outbox)

    @consumer.handles(EnterpriseReinstated)
    async def on_reinstated(
        event: EnterpriseReinstated, meta: EnvelopeAttributes, uow: Transaction
    ) -> None:
        await service.resume_applications(event, meta, uow, runtime.outbox)

    return consumer
