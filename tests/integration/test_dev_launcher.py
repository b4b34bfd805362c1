"""`ikm dev`'s launcher: a service that cannot bind its port fails loudly, naming the port,
even when the process already on that port answers /readyz with 200 (real uvicorn child,
real broker, a real HTTP server squatting on the port)."""

from __future__ import annotations

import os
import re
import socket
import time
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


def _get(conn: socket.socket, path: str) -> bytes:
    """One request on an open connection; its answer's status line, or b"" if the server
    closed the connection instead of answering."""
    conn.sendall(f"GET {path} HTTP/1.1\r\nHost: ikm\r\n\r\n".encode())
    answer = b""
    while b"\r\n\r\n" not in answer:
        chunk = conn.recv(65536)
        if not chunk:
            return b""
        answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    length = int(re.search(rb"content-length: (\d+)", head, re.IGNORECASE)[1])  # type: ignore[index]
    while len(body) < length:
        body += conn.recv(65536)
    return head.split(b"\r\n")[0]


def test_an_idle_connection_outlives_the_proxies_and_clients_in_front(
    kafka: str, tmp_path: Path
) -> None:
    """A proxy (ingress-nginx, a cloud load balancer: 60 s) or a client pool (httpx: 5 s)
    keeps an idle connection to send its next request on. uvicorn closed it after 5 s, so a
    request sent as it closed was reset: a 502 for a POST through the ingress, an
    ``httpx.ReadError`` for a client. The server must keep it longer than any of them."""
    svc = start_service("registry", free_port(), service_env(kafka, tmp_path), tmp_path / "logs")
    try:
        wait_ready([svc], timeout=60)
        with socket.create_connection(("127.0.0.1", svc.port), timeout=10) as conn:
            assert _get(conn, "/healthz") == b"HTTP/1.1 200 OK"
            time.sleep(6.5)  # past uvicorn's default keep-alive (5 s)
            assert _get(conn, "/healthz") == b"HTTP/1.1 200 OK"
    finally:
        svc.process.terminate()
        svc.process.wait(timeout=15)
