"""What a benchmark reports."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ikmdev.infra import EmbeddedKafka


@dataclass(frozen=True)
class Figure:
    benchmark: str
    name: str
    value: float
    unit: str
    target: str | None = None
    met: bool | None = None

    def formatted(self) -> str:
        return f"{self.value:,.2f} {self.unit}"


def embedded_clients() -> None:
    """Every service and consumer this run starts, in process or as a child, takes the
    embedded broker's client settings (``EmbeddedKafka.CLIENT_ENV``), as ``ikm dev up`` and
    the test suite do: the benches measure the embedded stack. Called by the entry points,
    not on import (the test suite imports benches, on whatever broker it has)."""
    for name, value in EmbeddedKafka.CLIENT_ENV.items():
        os.environ.setdefault(name, value)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process (all its threads) has used so far; 0 once gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
