"""A NotificationDead event, for the readiness and shutdown tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from contracts.notify import NotificationDead


def dead_notification(notification_id: str) -> NotificationDead:
    return NotificationDead(
        notification_id=notification_id,
        source_event_id=str(uuid.uuid4()),
        source_event_type="EnterpriseRegistered",
        recipient="enterprise:1234567890123",
        channel="email",
        attempts=6,
        last_error="SMTP 550",
        dead_at=datetime.now(UTC),
    )
