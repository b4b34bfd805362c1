"""Oversized payloads and a topic's records, for the relay's parking tests."""

from __future__ import annotations

from tests.support.kafka import header, read_topic

OVERSIZED = "x" * (1024 * 1024 + 200 * 1024)  # 1.2 MiB: over the producer's 1 MiB default


async def on_topic(kafka: str, topic: str) -> dict[str, list[str]]:
    """Event ids per key, in log order."""
    by_key: dict[str, list[str]] = {}
    for record in await read_topic(kafka, topic):
        by_key.setdefault(record.key.decode(), []).append(str(header(record, "ce_id")))
    return by_key
