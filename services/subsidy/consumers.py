"""Subsidy's event consumer: the registry's enterprise events feed the replica; a suspension
holds the enterprise's open applications, a reinstatement resumes them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from contracts.base import Event
from contracts.envelope import EnvelopeAttributes
from contracts.registry import (
    EnterpriseClassChanged,
    EnterpriseOnboardedToMarketplace,
    EnterpriseRegistered,
    EnterpriseReinstated,
    EnterpriseSuspended,
    EnterpriseUpdated,
    EnterpriseVerified,
)
from ikmkit.messaging.consumer import EventConsumer
from ikmkit.service.runtime import Runtime
from ikmkit.store import Transaction
from services.subsidy import handlers, replicas
from services.subsidy.bootstrap import Subsidy
from services.subsidy.store import SubsidyUnit

GROUP = "subsidy"

type Handler = Callable[[Any, EnvelopeAttributes, SubsidyUnit], Awaitable[None]]


def _replicating(
    replicate: Callable[[Any, EnvelopeAttributes, Transaction], Awaitable[object]],
) -> Handler:
    async def handle(event: Any, meta: EnvelopeAttributes, uow: SubsidyUnit) -> None:
        await replicate(event, meta, uow.tx)

    return handle


async def on_suspended(
    event: EnterpriseSuspended, meta: EnvelopeAttributes, uow: SubsidyUnit
) -> None:
    if await replicas.suspended(event, meta, uow.tx) is not None:
        await handlers.hold_applications(uow, event)


async def on_reinstated(
    event: EnterpriseReinstated, meta: EnvelopeAttributes, uow: SubsidyUnit
) -> None:
    if await replicas.reinstated(event, meta, uow.tx) is not None:
        await handlers.resume_applications(uow, event)


HANDLERS: dict[type[Event], Handler] = {
    EnterpriseRegistered: _replicating(replicas.registered),
    EnterpriseUpdated: _replicating(replicas.updated),
    EnterpriseVerified: _replicating(replicas.verified),
    EnterpriseClassChanged: _replicating(replicas.class_changed),
    EnterpriseSuspended: on_suspended,
    EnterpriseReinstated: on_reinstated,
    EnterpriseOnboardedToMarketplace: _replicating(replicas.unchanged),
}
"""Every event type of the registry's enterprise topic (the replica's sequence has no gaps)."""


async def on_batch(items: list[tuple[Any, EnvelopeAttributes]], uow: SubsidyUnit) -> None:
    """A batch in one unit of work: the enterprises it concerns read in one query, then each
    event in order, as alone (an event sees what the ones before it wrote)."""
    await replicas.ENTERPRISES.prefetch(uow.tx, [meta.subject for _, meta in items])
    for event, meta in items:
        await HANDLERS[type(event)](event, meta, uow)


def build_consumer(deps: Subsidy, runtime: Runtime) -> EventConsumer[SubsidyUnit]:
    consumer = EventConsumer(group=GROUP, units=deps.units, dead_letters=runtime.publisher)
    for event_type, handler in HANDLERS.items():
        consumer.handles(event_type)(handler)
    consumer.handles_batch(on_batch)
    return consumer
