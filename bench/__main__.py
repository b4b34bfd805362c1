"""``make bench``: run every benchmark module and print its figures.

A benchmark module is ``bench/<area>.py`` exposing ``async def run(kafka: str,
workdir: Path) -> list[Figure]``. They share one embedded Kafka broker (the stack the
figures are of, with its clients' settings: ``bench.common.embedded_clients``).
``python -m bench registry notify`` runs only those areas.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import pkgutil
import sys
import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table

import bench
from bench._calibrate import calibration_ms, line
from bench.common import Figure, embedded_clients
from ikmdev.infra import EmbeddedKafka, KafkaEndpoint

# Benchmarks run services with the development JWT secret; production would refuse it.
os.environ.setdefault("IKM_ENV", "development")


def _modules(selected: list[str]) -> list[str]:
    names = sorted(
        m.name
        for m in pkgutil.iter_modules(bench.__path__)
        if m.name not in ("common",) and not m.name.startswith("_")
    )
    return [n for n in names if not selected or n in selected]


def main() -> None:
    console = Console()
    # First, before any service runs: how fast this machine is today (docs/performance.md).
    calibration = calibration_ms()
    print(line(calibration), flush=True)  # one line, whatever the terminal width
    broker = EmbeddedKafka().start()
    kafka = KafkaEndpoint(broker.bootstrap_servers, "embedded", broker)
    figures = [
        Figure("machine", "calibration workload (bench/_calibrate.py)", calibration, "ms CPU")
    ]
    try:
        for name in _modules(sys.argv[1:]):
            module = importlib.import_module(f"bench.{name}")
            console.print(f"[bold]bench {name}[/] ...")
            with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as workdir:
                figures += asyncio.run(module.run(kafka.bootstrap_servers, Path(workdir)))
    finally:
        kafka.stop()
    table = Table(title=f"IKM benchmarks (Kafka: {kafka.kind})")
    for column in ("benchmark", "figure", "value", "target", "met"):
        table.add_column(column)
    for f in figures:
        met = "" if f.met is None else ("yes" if f.met else "NO")
        table.add_row(f.benchmark, f.name, f.formatted(), f.target or "", met)
    console.print(table)


if __name__ == "__main__":
    embedded_clients()
    main()
