"""``make install`` (so ``make bench``) installs wrk when it is missing, as chromium and
promtool: apt-get only then, and a machine without apt or root is told, not failed."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "ensure-wrk"


def _tool(bin_dir: Path, name: str, body: str) -> None:
    path = bin_dir / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def _run(bin_dir: Path, *, uid: str = "0") -> subprocess.CompletedProcess[str]:
    """The script with only ``bin_dir`` on PATH: fake ``id``, ``apt-get``, ``wrk`` as given."""
    _tool(bin_dir, "id", f"echo {uid}")
    env = {"PATH": str(bin_dir), "HOME": os.environ.get("HOME", "/")}
    bash = "/bin/bash" if Path("/bin/bash").exists() else "/usr/bin/bash"
    return subprocess.run(
        [bash, str(SCRIPT)], env=env, capture_output=True, text=True, timeout=30, check=False
    )


def test_make_install_runs_it() -> None:
    install = (ROOT / "Makefile").read_text().split("\ninstall:", 1)[1].split("\n\n", 1)[0]
    assert "bash scripts/ensure-wrk" in install
    assert "bench: install" in (ROOT / "Makefile").read_text()


def test_wrk_present_nothing_installed(tmp_path: Path) -> None:
    calls = tmp_path / "apt.log"
    _tool(tmp_path, "wrk", "exit 0")
    _tool(tmp_path, "apt-get", f'echo "$@" >> {calls}')
    result = _run(tmp_path)
    assert result.returncode == 0, result.stderr
    assert not calls.exists()


def test_wrk_missing_apt_updates_then_installs_it(tmp_path: Path) -> None:
    calls = tmp_path / "apt.log"
    _tool(tmp_path, "apt-get", f'echo "$@" >> {calls}')
    result = _run(tmp_path)
    assert result.returncode == 0, result.stderr
    lines = calls.read_text().splitlines()
    assert lines[0].startswith("update")
    assert lines[1].startswith("install") and lines[1].split()[-1] == "wrk"


def test_no_apt_or_no_root_says_so_and_goes_on(tmp_path: Path) -> None:
    result = _run(tmp_path)  # no apt-get on PATH
    assert result.returncode == 0 and "apt-get not available" in result.stderr
    calls = tmp_path / "apt.log"
    _tool(tmp_path, "apt-get", f'echo "$@" >> {calls}')
    result = _run(tmp_path, uid="1000")  # not root, no sudo
    assert result.returncode == 0 and "not root" in result.stderr
    assert not calls.exists()
