"""The topics the platform creates itself (a service's own and its dead-letter topics when it
starts, a lost topic the relay restores, ``ikm dev``'s) are part of the audit log: they keep
every record, as the topics job and the Strimzi KafkaTopics make theirs, not the broker's
default week (Apache Kafka: 7 days). Real broker."""

from __future__ import annotations

import uuid

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from contracts.topics import dead_letter_topic
from ikmkit.messaging.kafka_topics import ensure_topics


async def topic_configs(kafka: str, topics: list[str]) -> dict[str, dict[str, str]]:
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka)
    await admin.start()
    try:
        answers = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, t) for t in topics]
        )
    finally:
        await admin.close()
    return {
        resource[3]: {entry[0]: entry[1] for entry in resource[4]}
        for answer in answers
        for resource in answer.resources
    }


async def test_a_topic_and_its_dead_letters_created_at_start_keep_every_record(kafka: str) -> None:
    topic = f"ikm.t{uuid.uuid4().hex[:8]}.thing.v1"
    dead_letters = dead_letter_topic(topic, "insights")
    await ensure_topics(kafka, [topic, dead_letters], partitions=3)
    configs = await topic_configs(kafka, [topic, dead_letters])
    for name in (topic, dead_letters):
        kept = {k: configs[name].get(k) for k in ("retention.ms", "retention.bytes")}
        assert kept == {"retention.ms": "-1", "retention.bytes": "-1"}, name
        assert configs[name].get("cleanup.policy") == "delete", name
