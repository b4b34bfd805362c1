"""``make bench`` runs every public module of ``bench/``: each must be a benchmark."""

from __future__ import annotations

import importlib
import inspect

from bench.__main__ import _modules


def test_every_module_make_bench_runs_is_a_benchmark() -> None:
    names = _modules([])
    assert "registry" in names and "notify" in names
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        run = getattr(module, "run", None)
        assert run is not None and inspect.iscoroutinefunction(run), (
            f"bench.{name} has no async run()"
        )
