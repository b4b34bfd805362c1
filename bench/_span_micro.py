"""Per-event tracing, piece by piece (CPU µs per event, best of 5 rounds of 10,000):

    python -m bench._span_micro [--export] [--profile FILE]

The tracer provider is the one a service installs (``setup_tracing``); ``--export`` adds a
batch span processor whose exporter drops what it gets, as production with an OTLP endpoint
records every span (``bench._traced``). Measured: the relay's send span as ``publish_rows``
runs it (start, the message's ``traceparent``, end with partition and offset), the whole
``publish_rows`` into a publisher that answers at once, and a consumer batch's spans
(``EventSpans``) and one event's span (``event_span``).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import time
from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry.sdk.trace.export import BatchSpanProcessor

from bench._traced import _Dropped
from ikmkit.messaging.outbox import OutgoingMessage, PublishResult, publish_rows
from ikmkit.telemetry.otel import (
    EventSpans,
    end_send_span,
    event_span,
    setup_tracing,
    start_send_span,
    traceparent_of,
)

N = 10_000
TOPIC = "ikm.notify.notification.v1"
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def _best(label: str, run: Callable[[], Any]) -> None:
    times = []
    for _ in range(5):
        started = time.process_time()
        run()
        times.append(time.process_time() - started)
    print(f"{label:<34} {min(times) / N * 1e6:6.2f} us/event")


class _Answering:
    async def publish_batch(self, messages: Sequence[OutgoingMessage]) -> list[PublishResult]:
        return [PublishResult(partition=0, offset=i) for i in range(len(messages))]


def _rows() -> list[dict[str, Any]]:
    return [
        {
            "id": f"0193a8f2-7c1e-7d44-9f00-{i:012d}",
            "topic": TOPIC,
            "key": f"{9_000_000_000_000 + i}",
            "payload": "{}",
            "headers": {"traceparent": TRACEPARENT, "ce_id": f"e-{i}", "ce_type": "t"},
        }
        for i in range(N)
    ]


def _send(rows: list[dict[str, Any]]) -> None:
    for i, row in enumerate(rows):
        span = start_send_span(TOPIC, message_id=row["id"], key=row["key"], headers=row["headers"])
        traceparent_of(span)
        end_send_span(span, partition=0, offset=i)


def _consume_batch() -> None:
    spans = EventSpans("notify")
    for i in range(N):
        spans.start(
            TRACEPARENT,
            topic=TOPIC,
            event_id=f"e-{i}",
            event_type="t",
            partition=0,
            offset=i,
            key=b"9000000000000",
        )
    with spans:
        pass


def _consume_one() -> None:
    for i in range(N):
        with event_span(
            TRACEPARENT,
            topic=TOPIC,
            group="notify",
            event_id=f"e-{i}",
            event_type="t",
            partition=0,
            offset=i,
            key=b"9000000000000",
        ):
            pass


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--export", action="store_true")
    parser.add_argument("--profile")
    args = parser.parse_args()
    provider = setup_tracing("bench")
    if args.export:
        provider.add_span_processor(BatchSpanProcessor(_Dropped(), max_queue_size=100_000))
    rows = _rows()
    publisher = _Answering()
    benches: list[tuple[str, Callable[[], Any]]] = [
        ("send span (start, traceparent, end)", lambda: _send(rows)),
        ("publish_rows (answering publisher)", lambda: asyncio.run(publish_rows(publisher, rows))),
        ("consumer spans (batch path)", _consume_batch),
        ("consumer span (one by one)", _consume_one),
    ]
    if args.profile:
        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
    for label, run in benches:
        _best(label, run)
    if args.profile:
        profiler.disable()
        profiler.dump_stats(args.profile)


if __name__ == "__main__":
    main()
