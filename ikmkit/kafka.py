"""Kafka plumbing over aiokafka: a batch publisher and topic administration.

The producer is deliberately not idempotent or transactional (the embedded
broker rejects InitProducerId, and correctness never relies on it): the outbox
gives at-least-once publication and consumers deduplicate by event id.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from ikmkit.kafka_security import kafka_client_options
from ikmkit.outbox import OutgoingMessage

log = logging.getLogger("ikmkit.kafka")


class KafkaPublisher:
    """Publishes outbox batches and dead letters; order per partition is preserved."""

    def __init__(
        self,
        bootstrap_servers: str,
        *,
        client_id: str = "ikm",
        security: Mapping[str, Any] | None = None,
    ) -> None:
        self._producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap_servers,
            **(kafka_client_options() if security is None else security),
            client_id=client_id,
            acks="all",
            enable_idempotence=False,
            linger_ms=2,
            max_batch_size=256 * 1024,
            request_timeout_ms=15000,
        )

    async def start(self) -> None:
        await self._producer.start()

    async def stop(self) -> None:
        await self._producer.stop()

    async def publish_batch(self, messages: Sequence[OutgoingMessage]) -> None:
        futures = [
            await self._producer.send(m.topic, m.value, key=m.key, headers=m.headers)
            for m in messages
        ]
        await asyncio.gather(*futures)

    async def publish(self, message: OutgoingMessage) -> None:
        await self.publish_batch([message])


async def ensure_topics(
    bootstrap_servers: str,
    topics: Iterable[str],
    *,
    partitions: int = 3,
    security: Mapping[str, Any] | None = None,
) -> None:
    """Create missing topics (idempotent)."""
    options = kafka_client_options() if security is None else security
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, **options)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in sorted(set(topics)) if t not in existing]
        for topic in missing:
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics([NewTopic(topic, partitions, 1)])
    finally:
        await admin.close()


async def delete_topics(bootstrap_servers: str, topics: Iterable[str]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, **kafka_client_options())
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        doomed = [t for t in topics if t in existing]
        if doomed:
            await admin.delete_topics(doomed)
    except Exception:  # cleanup is best-effort: a leftover topic only costs memory
        log.warning("could not delete topics %s", list(topics), exc_info=True)
    finally:
        await admin.close()
