"""The topics and partitions a broker has now, for readers that list them themselves."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition


async def fresh_cluster(consumer: AIOKafkaConsumer) -> Any:
    """Metadata fetched now (aiokafka's ``ClusterMetadata``). The client's own copy is the one
    made at start, refreshed only every ``metadata_max_age_ms``, and ``topics()`` fetches fresh
    metadata into a copy it throws away: topics or partitions added since would be missed."""
    return await consumer._client.fetch_all_metadata()


def partitions_in(cluster: Any, topics: Iterable[str]) -> list[TopicPartition]:
    """Every partition of ``topics`` in ``cluster``, in topic order then partition order."""
    return [
        TopicPartition(topic, partition)
        for topic in topics
        for partition in sorted(cluster.partitions_for_topic(topic) or ())
    ]
