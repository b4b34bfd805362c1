"""Prometheus metrics shared by every service (exposed at ``/metrics``).

prometheus-client is the one metrics pipeline: Prometheus scrapes ``/metrics`` (an
OpenTelemetry Collector can scrape it too). The flow metrics keep their ``ikm_`` names; the
HTTP metric follows the OTel semantic conventions, dots as underscores. The table in
``docs/operations.md`` is generated from the registry (``python -m ikmkit.telemetry.reference``).
"""

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
EVENTS_LEGACY_SIGNED = Counter(
    "ikm_events_legacy_signed_total",
    "Signed events without ce_prevhash (written before it) accepted on their signature alone",
    ["group", "type"],
)
OUTBOX_PUBLISHED = Counter("ikm_outbox_published_total", "Events relayed to Kafka", ["service"])
OUTBOX_BACKLOG = Gauge("ikm_outbox_backlog", "Outbox events not yet relayed", ["service"])
OUTBOX_OLDEST_AGE = Gauge(
    "ikm_outbox_oldest_pending_age_seconds", "Age of the oldest unrelayed event", ["service"]
)
CONSUMER_LAG = Gauge(
    "ikm_consumer_lag", "Messages behind the partition end", ["group", "topic", "partition"]
)
HTTP_SERVER_DURATION = Histogram(
    "http_server_request_duration_seconds",
    "Duration of HTTP server requests (OTel semantic convention http.server.request.duration)",
    ["service_name", "http_request_method", "http_route", "http_response_status_code"],
    # The boundaries the semantic convention recommends for this instrument.
    buckets=(0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10),
)
