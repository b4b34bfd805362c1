"""What a benchmark reports."""

from __future__ import annotations

import os
from dataclasses import dataclass

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
