"""The platform's topics as it asks a Kafka cluster for them.

Every topic the platform writes is part of the audit log: the domain topics, which auditors
replay, and the dead-letter topics, the record of each event a consumer did not apply. So a
topic created here (a service's own and its dead-letter topics when it starts, a lost topic
the relay restores, ``ikm dev``'s) is made as the topics job (``deploy/docker/create_topics.py``)
and the production KafkaTopics (``deploy/k8s/external/kafka-topics.yaml``) make theirs: every
record kept, whatever the broker's default (Apache Kafka: 7 days), and three copies where
the cluster has three brokers. With one copy a topic is lost with its broker and, under the
cluster's ``min.insync.replicas: 2``, takes no write at all.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError, for_code

from ikmkit.messaging.kafka_security import kafka_client_options

log = logging.getLogger(__name__)

AUDIT_LOG_CONFIG = {"retention.ms": "-1", "retention.bytes": "-1", "cleanup.policy": "delete"}
"""A platform topic's configuration: it keeps every record."""

COPIES = 3
"""Replicas of a platform topic where the cluster has the brokers for them (fewer: one each)."""


def replication_factor(brokers: int) -> int:
    return max(1, min(COPIES, brokers))


async def ensure_topics(
    bootstrap_servers: str,
    topics: Iterable[str],
    *,
    partitions: int = 3,
    security: Mapping[str, Any] | None = None,
) -> None:
    """Create the missing topics (idempotent; an existing topic is left as it is)."""
    options = kafka_client_options() if security is None else security
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, **options)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in sorted(set(topics)) if t not in existing]
        if not missing:
            return
        copies = replication_factor(len((await admin.describe_cluster())["brokers"]))
        for topic in missing:
            wanted = NewTopic(topic, partitions, copies, topic_configs=AUDIT_LOG_CONFIG)
            _raise_refusal(await admin.create_topics([wanted]))
    finally:
        await admin.close()


def _raise_refusal(response: Any) -> None:
    """A topic the broker did not create (its answer carries the error, nothing is raised)."""
    for topic, code, message in response.topic_errors:
        if code and code != TopicAlreadyExistsError.errno:  # made meanwhile: it is there
            raise for_code(code)(f"topic {topic} not created: {message}")


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
