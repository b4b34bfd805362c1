"""Events on topics of their own, for the relay tests."""

from __future__ import annotations

import uuid
from typing import ClassVar

from contracts.base import Event


def probe_event(topic: str) -> type[Event]:
    class RelayProbe(Event):
        TOPIC: ClassVar[str] = topic
        AGGREGATE_FIELD: ClassVar[str] = "key"
        key: str
        note: str = ""

    return RelayProbe


def unique_topic() -> str:
    return f"ikm.test.relay-{uuid.uuid4().hex[:10]}.v1"
