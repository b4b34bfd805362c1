"""Run one of the ``bench._*_alone`` tools with the tracer provider a service installs
(``setup_tracing``): by default without an exporter (what the services and the Kafka benches
run without ``OTEL_*`` settings), with ``--export`` also a batch span processor whose exporter
drops what it gets (the cost of recording spans, as in production with an OTLP endpoint):

    python -m bench._traced [--export] bench._insights_alone [its options]
"""

from __future__ import annotations

import runpy
import sys
from collections.abc import Sequence

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from ikmkit.telemetry.otel import setup_tracing


class _Dropped(SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def main(argv: list[str]) -> None:
    export = argv[:1] == ["--export"]
    module, *options = argv[1:] if export else argv
    provider = setup_tracing("bench")
    if export:
        provider.add_span_processor(BatchSpanProcessor(_Dropped(), max_queue_size=100_000))
    sys.argv = [module, *options]
    runpy.run_module(module, run_name="__main__")


if __name__ == "__main__":
    main(sys.argv[1:])
