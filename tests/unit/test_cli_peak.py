"""The bench's CLI runs report the child's own peak memory, not the process that started it
(``ru_maxrss`` from ``wait4`` carries the parent's high-water mark over ``exec``)."""

from __future__ import annotations

import os
from pathlib import Path

from bench._cli_peak import run_cli


def test_the_peak_is_the_childs_own_not_the_large_parents(tmp_path: Path) -> None:
    ballast = b"x" * (300 * 1024 * 1024)  # resident in this process while the child runs
    seconds, peak_mb, code = run_cli(["--help"], dict(os.environ), tmp_path / "cli.log")
    assert len(ballast) > 0
    assert code == 0
    assert 5 < peak_mb < 150, peak_mb
    assert seconds > 0
