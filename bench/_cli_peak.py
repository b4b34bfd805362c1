"""``ikm ARGS`` in a child process, with the child's own peak resident set.

``ru_maxrss`` from ``wait4`` is not that figure: Linux keeps a process's high-water mark across
``execve``, so a child forked from a large bench process reports the bench's peak when its
own is lower (measured: 553-562 MB reported for a replay whose own peak was 226-398 MB). The
child writes its ``VmHWM`` (``/proc/self/status``) as it exits instead.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Runs ``ikm_cli.main`` with ARGS and, at exit, writes the process's VmHWM line to $IKM_PEAK_FILE.
_WITH_PEAK = (
    "import atexit, os, runpy\n"
    "def peak():\n"
    "    with open('/proc/self/status') as status:\n"
    "        line = next(line for line in status if line.startswith('VmHWM:'))\n"
    "    with open(os.environ['IKM_PEAK_FILE'], 'w') as out:\n"
    "        out.write(line)\n"
    "atexit.register(peak)\n"
    "runpy.run_module('ikm_cli.main', run_name='__main__')\n"
)


def run_cli(
    args: list[str], env: dict[str, str], log: Path, limit: float = 3600.0
) -> tuple[float, float, int]:
    """(seconds, the child's own peak RSS in MB, its exit code); raises after ``limit`` s."""
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch, log.open("ab") as out:
        peak_file = Path(scratch) / "peak"
        process = subprocess.Popen(
            [sys.executable, "-c", _WITH_PEAK, *args],
            env={**env, "IKM_PEAK_FILE": str(peak_file)},
            stdout=out,
            stderr=out,
        )
        try:
            code = process.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise TimeoutError(f"ikm {' '.join(args)} ran over {limit:.0f}s; see {log}") from None
        seconds = time.perf_counter() - started
        peak_kb = int(peak_file.read_text().split()[1]) if peak_file.exists() else 0
    return seconds, peak_kb / 1024, code


if __name__ == "__main__":  # python -m bench._cli_peak ARGS: prints seconds and peak
    took, peak, code = run_cli(sys.argv[1:], dict(os.environ), Path(os.devnull))
    print(f"ikm {' '.join(sys.argv[1:])}: exit {code}, {took:.2f} s, peak RSS {peak:.0f} MB")
