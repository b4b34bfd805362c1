"""The telemetry shortcuts (attributes put in the SDK's map, ``traceparent`` parsed and
written by hand) under what an operator may configure: attribute limits from the
``OTEL_*`` variables, a ratio sampler, and traceparents of every odd form. Each exported span
is compared with the one the SDK's public API (``propagate.extract``, ``start_span`` with
attributes, ``set_attributes``) gives in the same process and configuration."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from opentelemetry.sdk.trace import ReadableSpan, SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from ikmkit.telemetry.span_attributes import set_clean_attributes

LONG: dict[str, str | int] = {
    "messaging.system": "kafka",
    "messaging.destination.name": "t" * 10_000,
    "messaging.kafka.offset": 2**62,
    "messaging.kafka.message.key": "",
    "bool.like": 1,
}


def _stored(limits: SpanLimits) -> list[ReadableSpan]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(span_limits=limits)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("t")
    for write in (lambda s, a: s.set_attributes(a), set_clean_attributes):
        span = tracer.start_span("s", attributes={"first": "x" * 50})
        write(span, LONG)
        write(span, {"second": "y" * 50, "first": 1})  # a key already there moves last
        span.end()
    return list(exporter.get_finished_spans())


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT": "4"},
        {"OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT": "0"},
        {"OTEL_ATTRIBUTE_COUNT_LIMIT": "3"},
        {"OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT": "6"},
        {"OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT": "7"},
        {"OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT": "0"},
        {"OTEL_ATTRIBUTE_COUNT_LIMIT": "2", "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT": "1"},
    ],
)
def test_limits_from_the_environment_store_what_the_sdk_stores(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in list(os.environ):
        if name.startswith(("OTEL_ATTRIBUTE_", "OTEL_SPAN_ATTRIBUTE_")):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    sdk, direct = _stored(SpanLimits())  # read from the environment, as the provider does
    assert list((direct.attributes or {}).items()) == list((sdk.attributes or {}).items())
    assert direct.dropped_attributes == sdk.dropped_attributes


_SCRIPT = textwrap.dedent(
    """
    import json
    from opentelemetry import propagate, trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from ikmkit.telemetry.http_tracing import finish_server_span, start_server_span
    from ikmkit.telemetry.otel import (
        end_send_span, messaging_attributes, setup_tracing, start_event_span, start_send_span,
    )

    ID = "4bf92f3577b34da6a3ce929d0e0e4736"
    LOW = "00000000000000000000000000000001"  # under any ratio's bound: sampled as a root
    TRACEPARENTS = [
        None, "", "garbage",
        f"00-{ID}-00f067aa0ba902b7-01", f"00-{ID}-00f067aa0ba902b7-00",
        f"00-{ID}-00f067aa0ba902b7-03", f"00-{ID}-00f067aa0ba902b7-ff",
        f"00-{ID.upper()}-00F067AA0BA902B7-01", f" 00-{ID}-00f067aa0ba902b7-01",
        f"00-{ID}-00f067aa0ba902b7-01 ", f"00-{ID}-00f067aa0ba902b7-01\\t",
        f"00-{ID}-00f067aa0ba902b7-01-extra", f"01-{ID}-00f067aa0ba902b7-01-extra",
        f"01-{ID}-00f067aa0ba902b7-00", f"ff-{ID}-00f067aa0ba902b7-01",
        f"00-{'0' * 32}-00f067aa0ba902b7-01", f"00-{ID}-{'0' * 16}-01",
        f"00-{LOW}-00f067aa0ba902b7-00", f"00-{ID}-00f067aa0ba902b7-1",
        f"00-{ID}0-00f067aa0ba902b7-01", f"0-{ID}-00f067aa0ba902b7-01",
    ]
    TRACESTATES = [None, "vendor=a,other=b", "not a state"]

    provider = setup_tracing("edges")
    ours = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(ours))
    reference_provider = TracerProvider()  # the same sampler and limits, from the environment
    theirs = InMemorySpanExporter()
    reference_provider.add_span_processor(SimpleSpanProcessor(theirs))
    reference = reference_provider.get_tracer("ikmkit.messaging.consumer")
    sender = reference_provider.get_tracer("ikmkit.messaging.outbox")
    server = reference_provider.get_tracer("ikmkit.telemetry.http_tracing")
    own_server = provider.get_tracer("ikmkit.telemetry.http_tracing")

    def shape(span):
        context = span.get_span_context()
        parent = span.parent
        return [
            span.name, str(span.kind), list(map(list, (span.attributes or {}).items())),
            span.dropped_attributes,
            [parent.trace_id, parent.span_id, int(parent.trace_flags), parent.is_remote,
             parent.trace_state.to_header()] if parent else None,
            context.trace_id if parent else None,
            int(context.trace_flags), context.trace_state.to_header(), str(span.status.status_code),
        ]

    for traceparent in TRACEPARENTS:
        span = start_event_span(
            traceparent, topic="t", group="g", event_id="e", event_type="T",
            partition=1, offset=2, key=b"1234567890123",
        )
        span.end()
        carrier = {"traceparent": traceparent} if traceparent else {}
        attributes = messaging_attributes(
            "process", "t", message_id="e", key=b"1234567890123", group="g", partition=1,
            offset=2,
        )
        attributes["cloudevents.event_id"] = "e"
        attributes["cloudevents.event_type"] = "T"
        reference.start_span(
            "process t", context=propagate.extract(carrier), kind=trace.SpanKind.CONSUMER,
            attributes=attributes,
        ).end()
        for tracestate in TRACESTATES:
            headers = dict(carrier)
            if tracestate is not None:
                headers["tracestate"] = tracestate
            span = start_send_span("t", message_id="e", key="k", headers=headers)
            end_send_span(span, partition=1, offset=2)
            expected = sender.start_span(
                "send t", context=propagate.extract(dict(headers)),
                kind=trace.SpanKind.PRODUCER,
                attributes=messaging_attributes("send", "t", message_id="e", key="k"),
            )
            expected.set_attributes(
                {"messaging.destination.partition.id": "1", "messaging.kafka.offset": 2}
            )
            expected.end()
            scope = {
                "type": "http", "method": "POST", "path": "/enterprises", "scheme": "http",
                "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
            }
            finish_server_span(start_server_span(own_server, scope), scope, "POST", 201)
            expected = server.start_span(
                "POST", context=propagate.extract(dict(headers)), kind=trace.SpanKind.SERVER,
                attributes={
                    "http.request.method": "POST", "url.path": "/enterprises",
                    "url.scheme": "http",
                },
            )
            expected.set_attributes({"http.response.status_code": 201})
            expected.end()
    found = [shape(s) for s in ours.get_finished_spans()]
    wanted = [shape(s) for s in theirs.get_finished_spans()]
    print(json.dumps({"found": found, "wanted": wanted}))
    """
)


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.5"},
        {"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0"},
        {"OTEL_TRACES_SAMPLER": "parentbased_always_off"},
        {"OTEL_TRACES_SAMPLER": "always_on"},
        {"OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT": "3", "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT": "4"},
        {"OTEL_ATTRIBUTE_COUNT_LIMIT": "0"},
    ],
)
def test_exported_messaging_spans_are_the_public_apis(env: dict[str, str]) -> None:
    """Recorded spans (a root's sampling by ratio is random: trace ids of roots are not
    compared, and ratio 0.5 roots are excluded by comparing only spans with a parent)."""
    import json

    clean = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**clean, **env, "OTEL_TRACES_EXPORTER": "none"},
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    found, wanted = result["found"], result["wanted"]
    if env.get("OTEL_TRACES_SAMPLER_ARG") == "0.5":
        found = [s for s in found if s[4] is not None]
        wanted = [s for s in wanted if s[4] is not None]
    assert found == wanted
    assert len([s for s in found if s[4] is not None]) >= 7 * (1 + 2 * 3) or "always_off" in str(
        env
    )
