"""The whole system as separate processes, as `make run` starts it (for e2e tests)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from ikm_cli.dev import SERVICES
from ikmkit.infra import free_port


@dataclass
class Stack:
    kafka: str
    urls: dict[str, str]
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    extra_env: dict[str, str] = field(default_factory=dict)

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def start_stack(kafka: str, data_dir: Path, extra_env: dict[str, str] | None = None) -> Stack:
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": kafka, "IKM_DATA_DIR": str(data_dir)}
    env.update(extra_env or {})
    stack = Stack(kafka=kafka, urls={}, extra_env=extra_env or {})
    log_dir = data_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    for name in SERVICES:
        port = free_port()
        log = open(log_dir / f"{name}.log", "ab")  # noqa: SIM115
        stack.processes.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    f"services.{name}.main:create_app",
                    "--factory",
                    "--port",
                    str(port),
                    "--no-access-log",
                ],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
        stack.urls[name] = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    pending = dict(stack.urls)
    while pending and time.monotonic() < deadline:
        for name, url in list(pending.items()):
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    del pending[name]
            except httpx.HTTPError:
                pass
        time.sleep(0.2)
    if pending:
        stack.stop()
        raise RuntimeError(f"services not ready: {pending}; logs in {log_dir}")
    return stack
