"""How long the ``ikm`` CLI takes to start: ``ikm --help`` and ``ikm token`` (target < 0.3 s).

Each command runs as a fresh process, as an officer's shell runs it; the median of several
runs is reported, with the slowest beside it so a cold start is not hidden."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.common import Figure

RUNS = 7
TARGET_SECONDS = 0.3
COMMANDS = {"ikm --help": ["--help"], "ikm token ministry": ["token", "ministry"]}


def _ikm() -> list[str]:
    script = Path(sys.executable).with_name("ikm")
    return [str(script)] if script.exists() else [sys.executable, "-m", "ikm_cli"]


def _seconds(argv: list[str]) -> float:
    env = {**os.environ, "IKM_ENV": "development"}
    started = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True, env=env)
    return time.perf_counter() - started


async def run(kafka: str, workdir: Path) -> list[Figure]:
    figures = []
    for label, args in COMMANDS.items():
        times = sorted(_seconds([*_ikm(), *args]) for _ in range(RUNS))
        median = statistics.median(times)
        figures.append(
            Figure(
                "cli",
                f"{label} (median of {RUNS}; slowest {times[-1]:.2f} s)",
                median,
                "s",
                target=f"< {TARGET_SECONDS} s",
                met=median < TARGET_SECONDS,
            )
        )
    return figures
