"""One-shot job: create the versioned domain topics with partitions and retention.

Domain topics (``ikm.<service>.<aggregate>.v<N>``) are the audit log that auditors
replay, so they keep everything: ``retention.ms=-1`` and ``retention.bytes=-1``.
Existing topics get the retention applied again (idempotent); partitions are only
ever added, never removed (Kafka cannot shrink a topic).

Environment: ``KAFKA_BOOTSTRAP_SERVERS`` (and the ``KAFKA_SECURITY_PROTOCOL``/``KAFKA_SASL_*``
client settings of ikmkit.service.settings), ``IKM_TOPIC_PARTITIONS`` (default 6),
``IKM_TOPIC_REPLICATION_FACTOR`` (default 1; 3 in production),
``IKM_TOPIC_MIN_INSYNC_REPLICAS`` (default 1; 2 in production).
"""

from __future__ import annotations

import asyncio
import os
import sys

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.admin.new_partitions import NewPartitions
from aiokafka.errors import IncompatibleBrokerVersion, KafkaConnectionError

from contracts.catalog import all_topics
from ikmkit.messaging.kafka_security import kafka_client_options
from ikmkit.messaging.kafka_topics import AUDIT_LOG_CONFIG


async def connect(bootstrap: str, attempts: int = 30) -> AIOKafkaAdminClient:
    for attempt in range(1, attempts + 1):
        admin = AIOKafkaAdminClient(
            bootstrap_servers=bootstrap, client_id="ikm-topics", **kafka_client_options()
        )
        try:
            await admin.start()
            return admin
        except KafkaConnectionError:
            await admin.close()
            print(f"broker not reachable yet (attempt {attempt})", file=sys.stderr)
            await asyncio.sleep(2)
    raise SystemExit(f"Kafka at {bootstrap} unreachable")


async def main() -> None:
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    partitions = int(os.environ.get("IKM_TOPIC_PARTITIONS", "6"))
    replication = int(os.environ.get("IKM_TOPIC_REPLICATION_FACTOR", "1"))
    configs = {
        **AUDIT_LOG_CONFIG,
        "min.insync.replicas": os.environ.get("IKM_TOPIC_MIN_INSYNC_REPLICAS", "1"),
    }
    admin = await connect(bootstrap)
    try:
        existing = set(await admin.list_topics())
        wanted = all_topics()
        missing = [t for t in wanted if t not in existing]
        if missing:
            await admin.create_topics(
                [NewTopic(t, partitions, replication, topic_configs=configs) for t in missing]
            )
        present = [t for t in wanted if t in existing]
        if present:
            try:
                await admin.alter_configs(
                    [ConfigResource(ConfigResourceType.TOPIC, t, configs=configs) for t in present]
                )
            except IncompatibleBrokerVersion:  # Kafka-protocol brokers without AlterConfigs
                print("broker cannot alter topic configs; retention left as is", file=sys.stderr)
            described = await admin.describe_topics(present)
            grow = {
                d["topic"]: NewPartitions(partitions)
                for d in described
                if len(d["partitions"]) < partitions
            }
            if grow:
                await admin.create_partitions(grow)
        for topic in wanted:
            state = "created" if topic in missing else "updated"
            print(f"{topic}: {state} ({partitions} partitions, retention unlimited)")
    finally:
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
