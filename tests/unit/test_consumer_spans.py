"""Consumer spans on the batch path, and the cheap reading of ``traceparent``.

A batch is handled by one call, yet each event keeps a CONSUMER span of its own, a child of
the producer span named in its ``traceparent``, with the messaging attributes; a batch that
fails marks its spans failed and falls back one by one (each event then gets its span again).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry import propagate, trace
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from contracts.envelope import EnvelopeAttributes
from contracts.registry import ENTERPRISE_TOPIC, EnterpriseRegistered
from ikmkit.messaging.consumer import EventConsumer
from ikmkit.messaging.inbox import INBOX, INBOX_COLLECTIONS
from ikmkit.messaging.outbox import Outbox
from ikmkit.store.sqlite import SqliteStore
from ikmkit.telemetry.otel import remote_parent, setup_tracing
from ikmkit.unit_of_work import UnitOfWork, Units
from tests.support.consumer_records import record
from tests.support.records import NoDeadLetters, Record

GROUP = "spans-test"


@pytest.fixture(scope="module")
def exporter() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    setup_tracing("test").add_span_processor(SimpleSpanProcessor(exporter))
    yield exporter
    exporter.shutdown()


async def consume(tmp_path: Path, records: list[Record], fail_batch: bool) -> tuple[list[int], int]:
    """Runs the records through a batch consumer; the span ids current in each handler call."""
    store = SqliteStore(tmp_path / "spans.db")
    await store.open([*INBOX_COLLECTIONS])
    consumer = EventConsumer(
        group=GROUP,
        units=Units(store, Outbox("registry"), UnitOfWork),
        dead_letters=NoDeadLetters(),  # type: ignore[arg-type]
    )
    current: list[int] = []

    @consumer.handles(EnterpriseRegistered)
    async def one(event: Any, meta: EnvelopeAttributes, uow: UnitOfWork) -> None:
        current.append(trace.get_current_span().get_span_context().span_id)

    @consumer.handles_batch
    async def many(items: list[tuple[Any, EnvelopeAttributes]], uow: UnitOfWork) -> None:
        current.append(trace.get_current_span().get_span_context().span_id)
        if fail_batch:
            raise RuntimeError("the batch fails")

    await consumer.process(records)
    async with store.transaction() as tx:
        done = await tx.count(INBOX)
    await store.close()
    return current, done


def consumer_spans(exporter: InMemorySpanExporter) -> list[Any]:
    return [s for s in exporter.get_finished_spans() if s.kind == SpanKind.CONSUMER]


async def test_each_event_of_a_batch_has_its_span_child_of_its_producer(
    exporter: InMemorySpanExporter, tmp_path: Path
) -> None:
    exporter.clear()
    records = [record(i) for i in range(3)]
    current, done = await consume(tmp_path, records, fail_batch=False)
    assert done == 3
    spans = consumer_spans(exporter)
    assert len(spans) == 3
    by_offset = {(s.attributes or {})["messaging.kafka.offset"]: s for s in spans}
    for i, rec in enumerate(records):
        span = by_offset[rec.offset]
        assert span.name == f"process {ENTERPRISE_TOPIC}"
        assert span.parent is not None and span.parent.is_remote
        assert span.parent.span_id == i + 1 and span.context.trace_id == i + 1
        event_id = dict(rec.headers)["ce_id"].decode()
        assert dict(span.attributes or {}) == {
            "messaging.system": "kafka",
            "messaging.operation.name": "process",
            "messaging.operation.type": "process",
            "messaging.destination.name": ENTERPRISE_TOPIC,
            "messaging.consumer.group.name": GROUP,
            "messaging.destination.partition.id": "2",
            "messaging.kafka.offset": rec.offset,
            "messaging.kafka.message.key": rec.key.decode() if rec.key else None,
            "messaging.message.id": event_id,
            "cloudevents.event_id": event_id,
            "cloudevents.event_type": EnterpriseRegistered.ce_type(),
        }
        assert span.status.status_code == StatusCode.UNSET
    # One handler call, inside the last event's span (what events it records inherit).
    assert current == [by_offset[records[-1].offset].context.span_id]


async def test_a_failed_batch_marks_its_spans_and_each_event_gets_its_own_again(
    exporter: InMemorySpanExporter, tmp_path: Path
) -> None:
    exporter.clear()
    records = [record(i) for i in range(3)]
    current, done = await consume(tmp_path, records, fail_batch=True)
    assert done == 3  # one by one after the batch failed
    spans = consumer_spans(exporter)
    failed = [s for s in spans if s.status.status_code == StatusCode.ERROR]
    alone = [s for s in spans if s.status.status_code == StatusCode.UNSET]
    assert len(failed) == 3 and len(alone) == 3
    assert all(s.events and s.events[0].name == "exception" for s in failed)
    assert current[1:] == [s.context.span_id for s in alone]
    assert {s.parent.span_id for s in alone if s.parent} == {1, 2, 3}


@pytest.mark.parametrize(
    "header",
    [
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03",
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01",
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
        " 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\t",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",
        "00-+bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4bf92f35_7b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "garbage",
    ],
)
def test_traceparent_is_read_as_the_w3c_propagator_reads_it(header: str) -> None:
    extracted = trace.get_current_span(propagate.extract({"traceparent": header}))
    expected = extracted.get_span_context()
    assert remote_parent(header) == (expected if expected.is_valid else None)


def test_a_span_nobody_receives_is_not_recorded_but_continues_the_trace() -> None:
    # A fresh process: the global tracer provider is set once per process.
    script = textwrap.dedent(
        """
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        from ikmkit.telemetry.otel import event_span, setup_tracing

        provider = setup_tracing("quiet")
        PARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-{flags}"
        HEADERS = [PARENT.format(flags=f) for f in ("01", "00", "03", "02")] + [None]

        def spans():
            found = []
            for header in HEADERS:
                with event_span(header, topic="t", group="g", event_id="e",
                                event_type="x") as span:
                    found.append((span, span.is_recording()))
            return [span for span, _ in found], [recording for _, recording in found]

        quiet, recording = spans()
        assert recording == [False] * 5
        exporter = InMemorySpanExporter()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        heard, recording = spans()
        assert recording == [True, False, True, False, True]  # sampled parents, and the root
        recorded = exporter.get_finished_spans()
        assert [s.parent.span_id if s.parent else None for s in recorded] == [
            0xF067AA0BA902B7, 0xF067AA0BA902B7, None
        ]
        # The quiet span's context is the one the SDK gives its recorded span.
        ids = {s.get_span_context().span_id for s in quiet + heard}
        assert len(ids) == 10 and 0xF067AA0BA902B7 not in ids, ids
        for q, h, header in zip(quiet, heard, HEADERS):
            q, h = q.get_span_context(), h.get_span_context()
            if header:
                assert q.trace_id == h.trace_id == 0x4BF92F3577B34DA6A3CE929D0E0E4736
            else:
                assert q.is_valid and q.trace_id != h.trace_id
            assert (q.trace_flags, q.trace_state, q.is_remote) == (
                h.trace_flags, h.trace_state, h.is_remote
            ), (q, h)
        print("ok")
        """
    )
    found = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert found.stdout.strip() == "ok", found.stderr
