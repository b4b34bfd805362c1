"""Topic naming rules shared by every service.

Domain topics are versioned: ``ikm.<service>.<aggregate>.v<N>``. A breaking
change to an event publishes on a new ``.v<N+1>`` topic (see docs/contracts.md).
"""

from __future__ import annotations

TOPIC_PREFIX = "ikm."
SOURCE_PREFIX = "/ikm/"


def source_of(service: str) -> str:
    """The CloudEvents ``source`` of every event ``service`` publishes."""
    return f"{SOURCE_PREFIX}{service}"


def dead_letter_topic(topic: str, consumer_group: str) -> str:
    """Where a consumer group parks the events of ``topic`` it cannot process."""
    return f"{topic}.dlq.{consumer_group}"


def is_dead_letter_topic(topic: str) -> bool:
    return ".dlq." in topic
