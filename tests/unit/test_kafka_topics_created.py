"""How the platform asks a cluster for a topic: three copies where the cluster has the
brokers (the production KafkaTopics' ``replicas: 3``; a topic with one copy is lost with its
broker, and under the cluster's ``min.insync.replicas: 2`` takes no write at all, so every
dead letter to it failed and the partition it came from stopped), every record kept, and a
refusal from the broker raised, not passed over."""

from __future__ import annotations

from typing import Any

import pytest
from aiokafka.admin import NewTopic
from aiokafka.errors import PolicyViolationError

from ikmkit.messaging import kafka_topics


class Cluster:
    """An admin client's answers: ``brokers`` brokers, the topics it has, what it refuses."""

    created: list[NewTopic]

    def __init__(self, brokers: int, existing: set[str], refuse: dict[str, int]) -> None:
        self.brokers, self.existing, self.refuse = brokers, existing, refuse
        self.created = []

    def __call__(self, **_: Any) -> Cluster:
        return self

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def list_topics(self) -> list[str]:
        return sorted(self.existing)

    async def describe_cluster(self) -> dict[str, Any]:
        return {"brokers": [{"node_id": n} for n in range(self.brokers)]}

    async def create_topics(self, topics: list[NewTopic]) -> Any:
        self.created += topics
        errors = [(t.name, self.refuse.get(t.name, 0), "refused") for t in topics]

        class Response:
            topic_errors = errors

        return Response()


def created(
    monkeypatch: pytest.MonkeyPatch, brokers: int, refuse: dict[str, int] | None = None
) -> Cluster:
    cluster = Cluster(brokers, {"ikm.a.b.v1"}, refuse or {})
    monkeypatch.setattr(kafka_topics, "AIOKafkaAdminClient", cluster)
    return cluster


@pytest.mark.parametrize(("brokers", "copies"), [(1, 1), (2, 2), (3, 3), (5, 3)])
async def test_each_missing_topic_gets_three_copies_where_there_are_brokers_for_them(
    monkeypatch: pytest.MonkeyPatch, brokers: int, copies: int
) -> None:
    cluster = created(monkeypatch, brokers)
    await kafka_topics.ensure_topics("k:9092", ["ikm.a.b.v1", "ikm.a.b.v1.dlq.g"], partitions=6)
    [topic] = cluster.created  # the existing one is left as it is
    assert (topic.name, topic.num_partitions, topic.replication_factor) == (
        "ikm.a.b.v1.dlq.g",
        6,
        copies,
    )
    assert topic.topic_configs == kafka_topics.AUDIT_LOG_CONFIG


async def test_a_topic_the_broker_refuses_is_an_error_and_one_it_has_already_is_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    created(monkeypatch, 3, {"ikm.c.d.v1": 36})  # TOPIC_ALREADY_EXISTS: made meanwhile
    await kafka_topics.ensure_topics("k:9092", ["ikm.c.d.v1"])
    created(monkeypatch, 3, {"ikm.c.d.v1": 44})  # POLICY_VIOLATION
    with pytest.raises(PolicyViolationError, match=r"ikm\.c\.d\.v1 not created"):
        await kafka_topics.ensure_topics("k:9092", ["ikm.c.d.v1"])
