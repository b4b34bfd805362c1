"""A webhook whose subscription was stopped before it was sent is dead at its first attempt:
no retry can bring the subscription back (a new one has a new id). It was retried
NOTIFY_MAX_ATTEMPTS times over minutes of backoff, each attempt a failed line in the ledger."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from contracts.notify import NotificationDead
from contracts.registry import EnterpriseVerified
from ikmkit.auth import Caller
from ikmkit.unit_of_work import Units
from services.notify import handlers
from services.notify.bootstrap import Notify, bootstrap
from services.notify.commands import Subscribe
from services.notify.settings import NotifySettings
from services.notify.store import COLLECTIONS, NotifyUnit
from tests.support.notify_dispatch import FakeMail
from tests.support.notify_service import attrs_of
from tests.support.units import memory_units, recorded_events

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
MINISTRY = Caller(subject="operator", role="ministry")


class Hooks:
    def __init__(self) -> None:
        self.posted: list[str] = []

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> None:
        self.posted.append(url)

    async def close(self) -> None:
        pass


@pytest.fixture
async def units() -> AsyncIterator[Units[NotifyUnit]]:
    async with memory_units(NotifyUnit, COLLECTIONS) as made:
        now = [T0]
        made.clock = lambda: now[0]
        yield made


async def test_a_webhook_of_a_stopped_subscription_is_dead_at_once(
    units: Units[NotifyUnit],
) -> None:
    hooks = Hooks()
    deps: Notify = bootstrap(
        units.store, units.outbox, NotifySettings(max_attempts=6), clock=units.clock,
        email=FakeMail(), webhooks=hooks,
    )  # fmt: skip
    url = f"https://hooks.example/{uuid.uuid4().hex}"
    body = Subscribe(url=url, event_types=["EnterpriseVerified"], secret="s" * 16)
    created = await deps.units.run(handlers.subscribe, body, MINISTRY)
    deps.subscriptions.invalidate()
    event = EnterpriseVerified(nib="3401234567890", province="34", verified_by="o", verified_at=T0)
    async with deps.units.open() as uow:
        await handlers.notify_about(
            uow, [(event, attrs_of(event, 1))], deps.configured_contacts, deps.subscriptions
        )
    await deps.units.run(handlers.unsubscribe, created.id, MINISTRY)
    deps.units.clock = lambda: T0 + timedelta(seconds=1)
    await deps.dispatcher.dispatch_due()
    dead = [e for e in await recorded_events(units) if isinstance(e, NotificationDead)]
    assert [(d.channel, d.attempts, d.last_error) for d in dead] == [
        ("webhook", 1, "subscription deleted")
    ]
    assert hooks.posted == []
