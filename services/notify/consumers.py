"""Notify's event consumers: translate events into use-case calls."""

from __future__ import annotations

from contracts.registry import EnterpriseRegistered
from ikmkit.consumer import EventConsumer
from ikmkit.runtime import Runtime

from services.notify import service

GROUP = "notify"


def build_consumer(runtime: Runtime) -> EventConsumer:
    consumer = EventConsumer(group=GROUP, store=runtime.store, dead_letters=runtime.publisher)
    consumer.handles(EnterpriseRegistered)(service.notify_registration)
    return consumer
