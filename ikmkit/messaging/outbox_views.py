"""The bodies ``/ops/outbox`` answers with (``outbox_ops``), so its OpenAPI shows them."""

from __future__ import annotations

from pydantic import BaseModel, Field


class LostPartition(BaseModel):
    topic: str
    partition: int


class LogCheckView(BaseModel):
    """What a check of the log found: ``clean`` when it holds everything published."""

    clean: bool
    missing_topics: list[str] = Field(description="Topics the broker no longer has")
    lost_partitions: list[LostPartition] = Field(
        description="Partitions whose records the log no longer holds"
    )


class OutboxStatus(BaseModel):
    service: str
    pending: int = Field(description="Events not yet published")
    oldest_pending_age_seconds: float
    parked: int = Field(description="Events the broker refuses (see /ops/outbox/parked)")
    last_log_check: LogCheckView | None = Field(
        description="The relay's last periodic check of the log; null before the first"
    )


class ParkedEvent(BaseModel):
    id: str
    topic: str
    key: str | None
    type: str | None = Field(description="CloudEvents type")
    sequence: int | None
    size_bytes: int
    reason: str | None = Field(description="Why the broker refused it")
    parked_at: str | None = Field(description="When it was parked (ISO 8601)")
    retries: int
    held_behind: int = Field(description="Events of the same key held until it is published")


class ParkedEvents(BaseModel):
    items: list[ParkedEvent]


class RetriedEvent(BaseModel):
    id: str
    published: bool
    partition: int | None
    offset: int | None
    released: int = Field(description="Events held behind it, now released")


class Republishing(BaseModel):
    topic: str
    partitions: list[int] | None = Field(description="The partitions asked for; null: all")
    republishing: int = Field(description="Events queued for publishing again")
