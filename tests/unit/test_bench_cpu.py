"""The benches' CPU figures: a process's CPU read from /proc, and the latency bench's CPU per
registration of each process of the stack."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from bench.common import cpu_seconds
from bench.latency import Phase, _cpu_figures


def test_cpu_seconds_counts_what_a_process_used() -> None:
    before = cpu_seconds(os.getpid())
    deadline = time.process_time() + 0.2
    while time.process_time() < deadline:
        pass
    used = cpu_seconds(os.getpid()) - before
    assert 0.1 <= used <= 2.0, used


def test_cpu_seconds_of_a_process_gone_is_zero() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert cpu_seconds(child.pid) == 0.0


def test_cpu_per_registration_of_each_process() -> None:
    phase = Phase(rate=100.0, nibs=[str(n) for n in range(500)], scheduled=[], http_ms=[],
                  statuses=[])  # fmt: skip
    figures = _cpu_figures(phase, {"registry": 1.0, "notify": 0.25})
    by_name = {f.name: f.value for f in figures}
    assert by_name == {
        "100 req/s open loop: CPU per registration, registry": 2.0,
        "100 req/s open loop: CPU per registration, notify": 0.5,
    }
    assert all(f.unit == "ms" and f.target is None for f in figures)
