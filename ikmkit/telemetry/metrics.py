"""Prometheus metrics shared by every service (exposed at ``/metrics``)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

EVENTS_PROCESSED = Counter(
    "ikm_events_processed_total", "Events whose effect was committed", ["group", "type"]
)
EVENTS_DUPLICATE = Counter(
    "ikm_events_duplicate_total", "Redelivered events skipped by the inbox", ["group"]
)
EVENTS_FAILED = Counter(
    "ikm_events_failed_total", "Failed processing attempts", ["group", "reason"]
)
EVENTS_DEAD_LETTERED = Counter(
    "ikm_events_dead_lettered_total",
    "Events parked on a dead-letter topic",
    ["group", "topic", "reason"],
)
OUTBOX_PUBLISHED = Counter("ikm_outbox_published_total", "Events relayed to Kafka", ["service"])
OUTBOX_BACKLOG = Gauge("ikm_outbox_backlog", "Outbox events not yet relayed", ["service"])
OUTBOX_OLDEST_AGE = Gauge(
    "ikm_outbox_oldest_pending_age_seconds", "Age of the oldest unrelayed event", ["service"]
)
CONSUMER_LAG = Gauge(
    "ikm_consumer_lag", "Messages behind the partition end", ["group", "topic", "partition"]
)
HTTP_LATENCY = Histogram(
    "ikm_http_request_duration_seconds",
    "HTTP request latency",
    ["service", "method", "route", "status"],
)
