"""What a benchmark reports."""

from __future__ import annotations

from dataclasses import dataclass


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
