"""Every repository writes in the fixed-width form the times its collection declares
(``CollectionSpec.times`` = ``Repository.times``), and a time a collection indexes (so
filters or orders by, as stored text) is declared: otherwise ``...:00Z`` sorts after
``...:00.5Z`` (``ikmkit.store.times``)."""

from __future__ import annotations

import importlib
import types
import typing
from datetime import datetime
from typing import Any

import pytest

from ikmkit.store.repository import Repository

SERVICES = ("registry", "subsidy", "training", "notify", "insights")


def _is_time(annotation: Any) -> bool:
    if annotation is datetime:
        return True
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return any(_is_time(a) for a in typing.get_args(annotation))
    return False


def _repositories(service: str) -> list[tuple[type[Repository[Any]], Any]]:
    module = importlib.import_module(f"services.{service}.store")
    specs = {spec.name: spec for spec in module.COLLECTIONS}
    found = []
    for value in vars(module).values():
        ours = isinstance(value, type) and value.__module__ == module.__name__
        if ours and issubclass(value, Repository) and value.collection in specs:
            found.append((value, specs[value.collection]))
    return found


@pytest.mark.parametrize("service", SERVICES)
def test_indexed_times_are_declared_and_written_fixed_width(service: str) -> None:
    repositories = _repositories(service)
    assert repositories
    for repo, spec in repositories:
        assert tuple(repo.times) == tuple(spec.times), repo.__name__
        times = {n for n, f in repo.model.model_fields.items() if _is_time(f.annotation)}
        indexed = {f for fields in spec.indexes for f in fields}
        if spec.columns is not None:
            indexed |= {f for fields, _ in spec.columns.indexes for f in fields}
        assert indexed & times <= set(spec.times), repo.__name__
