"""A NotificationDead event (any event will do for the readiness, shutdown, lag and unit of
work tests), a consumer of them whose handler is held on an ``asyncio.Event``, and dead
notifications as notify keeps them (for redrives)."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from contracts.envelope import EnvelopeAttributes
from contracts.notify import NotificationDead
from ikmkit.messaging.consumer import EventConsumer
from ikmkit.service.runtime import ConsumerSpec, Runtime, ServiceDefinition
from ikmkit.service.settings import ServiceSettings
from ikmkit.unit_of_work import UnitOfWork, Units
from services.notify.domain.model import Notification, Status
from tests.conftest import make_store


def dead_notification(notification_id: str, dead_at: datetime | None = None) -> NotificationDead:
    return NotificationDead(
        notification_id=notification_id,
        source_event_id=str(uuid.uuid4()),
        source_event_type="EnterpriseRegistered",
        recipient="enterprise:1234567890123",
        channel="email",
        attempts=6,
        last_error="SMTP 550",
        dead_at=dead_at or datetime.now(UTC),
    )


@dataclass
class HeldConsumer:
    """A consumer group of NotificationDead whose handler, for the notification ``held`` (every
    one when None), sets ``started`` and waits for ``release``: a handler that takes a moment,
    or a downstream call that never returns. ``handled`` lists the notifications it finished."""

    group: str
    held: str | None = None
    started: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    handled: list[str] = field(default_factory=list)
    consumers: list[EventConsumer[UnitOfWork]] = field(default_factory=list)

    def build(self, _: Runtime, runtime: Runtime) -> EventConsumer[UnitOfWork]:
        units = Units(runtime.store, runtime.outbox, UnitOfWork)
        consumer = EventConsumer(group=self.group, units=units, dead_letters=runtime.publisher)

        @consumer.handles(NotificationDead)
        async def handle(
            event: NotificationDead, meta: EnvelopeAttributes, uow: UnitOfWork
        ) -> None:
            if self.held is None or event.notification_id == self.held:
                self.started.set()
                await self.release.wait()
            self.handled.append(event.notification_id)

        self.consumers.append(consumer)
        return consumer

    def service(
        self, name: str, settings: ServiceSettings, tmp_path: Path
    ) -> ServiceDefinition[Runtime]:
        """A service of this consumer alone, on a SQLite store under ``tmp_path``."""
        return ServiceDefinition(
            name=name,
            settings=settings,
            collections=[],
            consumers=[ConsumerSpec(self.build)],
            store=make_store("sqlite", tmp_path, None),
        )


DEAD_AT = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def dead_email(i: int, status: Status = "dead") -> Notification:
    """The ``i``th enterprise's e-mail as notify keeps it once its attempts ran out."""
    recipient = f"enterprise:{i:013d}"
    return Notification(
        id=f"e{i}|{recipient}|email", event_id=f"e{i}", event_type="EnterpriseRegistered",
        recipient=recipient, channel="email", target=f"o{i}@example.id", data="{}",
        status=status, attempts=6, last_error="smtp down", created_at=DEAD_AT,
    )  # fmt: skip
