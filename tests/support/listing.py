"""Predicates over listings read from the APIs."""

from __future__ import annotations

from collections.abc import Callable

from tests.support.registry_api import (
    names,
)


def has(*wanted: str) -> Callable[[list], bool]:
    return lambda events: all(w in names(events) for w in wanted)
