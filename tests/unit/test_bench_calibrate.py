"""``make bench`` starts with the machine's calibration: a fixed workload's CPU time, the same
work on every machine (so its time compares machines), printed before any benchmark runs."""

from __future__ import annotations

import inspect

import pytest

from bench import __main__ as bench_main
from bench import _calibrate


def test_the_workload_is_fixed() -> None:
    assert _calibrate.workload() == _calibrate.workload()


def test_the_figure_and_its_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_calibrate, "ROUNDS", 1)
    ms = _calibrate.calibration_ms()
    assert 0 < ms < 60_000
    text = _calibrate.line(ms)
    assert text.startswith("machine calibration: ") and f"{ms:.0f} ms CPU" in text
    assert "load average" in text


def test_make_bench_prints_it_before_any_benchmark() -> None:
    source = inspect.getsource(bench_main.main)
    assert source.index("calibration_ms()") < source.index("EmbeddedKafka().start()")
    assert source.index("print(line(calibration)") < source.index("for name in _modules")
