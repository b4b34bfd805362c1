"""`ikm dev`'s launcher: a service that cannot bind its port fails loudly, naming the port,
even when the process already on that port answers /readyz with 200 (real uvicorn child,
real broker, a real HTTP server squatting on the port)."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from ikm_cli.launcher import StartupError, start_service, wait_ready
from ikmdev.infra import free_port
from tests.support.squatter import squatter

__all__ = ["squatter"]  # the fixture


def service_env(kafka: str, tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": kafka, "IKM_DATA_DIR": str(tmp_path)}


def test_a_service_whose_port_is_taken_fails_naming_the_port(
    kafka: str, squatter: int, tmp_path: Path
) -> None:
    assert httpx.get(f"http://127.0.0.1:{squatter}/readyz").status_code == 200
    svc = start_service("registry", squatter, service_env(kafka, tmp_path), tmp_path / "logs")
    try:
        with pytest.raises(StartupError) as failure:
            wait_ready([svc], timeout=60)
    finally:
        svc.process.kill()
        svc.process.wait()
    message = str(failure.value)
    assert f"127.0.0.1:{squatter}" in message
    assert "address already in use" in message
    assert "registry" in message


def test_readiness_is_answered_by_the_child_itself(kafka: str, tmp_path: Path) -> None:
    svc = start_service("registry", free_port(), service_env(kafka, tmp_path), tmp_path / "logs")
    try:
        wait_ready([svc], timeout=60)
        answer = httpx.get(f"{svc.url}/healthz")
        assert answer.headers["ikm-instance"] == svc.instance
        assert answer.json() == {"status": "ok"}
    finally:
        svc.process.terminate()
        svc.process.wait(timeout=15)
