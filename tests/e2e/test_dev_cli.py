"""`ikm dev up --detach`, `ikm dev status --json`, `ikm dev down`: what `make run` relies on."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.squatter import squatter

__all__ = ["squatter"]  # the fixture: a server already on the port, answering 200


def ikm(*args: str, env: dict[str, str], timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ikm_cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def listening(address: str) -> bool:
    host, port = address.rsplit(":", 1)
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, int(port))) == 0


def test_dev_stack_starts_detached_reports_status_and_stops_everything(tmp_path: Path) -> None:
    env = {
        k: v for k, v in os.environ.items() if k not in ("KAFKA_BOOTSTRAP_SERVERS", "MONGODB_URL")
    }
    env.update({"IKM_STATE_DIR": str(tmp_path / "state"), "IKM_NO_DOCKER": "1"})
    started = ikm("dev", "up", "--detach", "--data-dir", str(tmp_path / "data"), env=env)
    assert started.returncode == 0, started.stderr + started.stdout
    try:
        status = ikm("dev", "status", "--json", env=env)
        assert status.returncode == 0, status.stderr
        summary = json.loads(status.stdout)
        assert set(summary["services"]) == {"registry", "subsidy", "training", "notify", "insights"}
        assert listening(summary["kafka"])
        for url in summary["services"].values():
            assert httpx.get(f"{url}/healthz", timeout=5).status_code == 200
        state = json.loads((tmp_path / "state" / "dev.json").read_text())
        pids = [state["supervisor_pid"], *state["pids"].values()]
    finally:
        stopped = ikm("dev", "down", env=env)
    assert stopped.returncode == 0, stopped.stderr
    assert [pid for pid in pids if alive(pid)] == []
    assert not listening(summary["kafka"])
    assert ikm("dev", "status", "--json", env=env).returncode == 1


def test_up_fails_naming_the_port_a_service_could_not_bind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, squatter: int
) -> None:
    """The race `ikm dev up` used to lose silently: the port was free when checked and taken
    (here by a server answering /readyz with 200) when the child bound it."""
    from typer.testing import CliRunner

    from ikm_cli import dev
    from ikm_cli.main import app

    state = tmp_path / "state"
    for name, value in (("STATE_DIR", state), ("STATE_FILE", state / "dev.json")):
        monkeypatch.setattr(dev, name, value)
    monkeypatch.setattr(dev, "LOG_DIR", state / "logs")
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    monkeypatch.setenv("IKM_NO_DOCKER", "1")
    chosen = dev._port_for
    monkeypatch.setattr(dev, "_port_for", lambda p: squatter if p == 8002 else chosen(p))
    result = CliRunner().invoke(app, ["dev", "up", "--data-dir", str(tmp_path / "data")])
    assert result.exit_code == 1
    assert f"subsidy could not bind 127.0.0.1:{squatter}: address already in use" in result.output
    assert not (state / "dev.json").exists()
