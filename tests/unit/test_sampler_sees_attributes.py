"""An operator's own sampler decides with the span's attributes, as the SDK's API promises:
for the consumer's, the relay's and the HTTP server's spans alike. (Each case runs in a fresh
interpreter: the global tracer provider can be set once per process.)"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

_SCRIPT = textwrap.dedent(
    """
    import json
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult
    from ikmkit.telemetry.otel import start_event_span, start_send_span

    seen = []

    class OnlyOneTopic(Sampler):
        # Keeps the spans of one topic: it can only tell them apart by their attributes.
        def should_sample(self, parent_context, trace_id, name, kind=None, attributes=None,
                          links=None, trace_state=None):
            seen.append(dict(attributes or {}))
            keep = (attributes or {}).get("messaging.destination.name") == "kept"
            return SamplingResult(Decision.RECORD_AND_SAMPLE if keep else Decision.DROP,
                                  attributes)

        def get_description(self):
            return "OnlyOneTopic"

    provider = TracerProvider(sampler=OnlyOneTopic())
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    for topic in ("kept", "dropped"):
        start_event_span(parent, topic=topic, group="g", event_id="e-" + topic,
                         event_type="T", partition=0, offset=1, key=b"k").end()
        start_send_span(topic, message_id="s-" + topic, key="k",
                        headers={"traceparent": parent}).end()
    print(json.dumps({
        "seen": seen,
        "exported": sorted(span.name for span in exporter.get_finished_spans()),
    }))
    """
)


def test_a_custom_sampler_sees_every_span_attribute_at_the_start() -> None:
    out = subprocess.run(
        [sys.executable, "-c", _SCRIPT], capture_output=True, text=True, check=True, timeout=60
    )
    result = json.loads(out.stdout)
    consumer = [a for a in result["seen"] if a.get("messaging.operation.type") == "process"]
    assert [a["messaging.destination.name"] for a in consumer] == ["kept", "dropped"]
    assert consumer[0]["cloudevents.event_id"] == "e-kept"
    assert consumer[0]["cloudevents.event_type"] == "T"
    assert consumer[0]["messaging.consumer.group.name"] == "g"
    assert consumer[0]["messaging.kafka.offset"] == 1
    sends = [a for a in result["seen"] if a.get("messaging.operation.type") == "send"]
    assert [a["messaging.message.id"] for a in sends] == ["s-kept", "s-dropped"]
    assert result["exported"] == ["process kept", "send kept"]
