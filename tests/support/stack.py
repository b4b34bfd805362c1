"""The whole system as separate processes, as `make run` starts it (for e2e tests)."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from ikm_cli.dev import SERVICES, ServiceProcess, start_service, wait_ready
from ikm_cli.devkeys import signing_env
from ikmdev.infra import free_port


@dataclass
class Stack:
    kafka: str
    urls: dict[str, str]
    services: list[ServiceProcess] = field(default_factory=list)
    extra_env: dict[str, str] = field(default_factory=dict)

    def stop(self) -> None:
        for svc in self.services:
            svc.process.terminate()
        for svc in self.services:
            try:
                svc.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                svc.process.kill()


def start_stack(kafka: str, data_dir: Path, extra_env: dict[str, str] | None = None) -> Stack:
    """The five services on free ports, with ``ikm dev``'s launcher; logs in ``data_dir/logs``."""
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": kafka, "IKM_DATA_DIR": str(data_dir)}
    env.update(signing_env(SERVICES, data_dir, env))  # signed events, verified by consumers
    env.update(extra_env or {})
    services = [start_service(name, free_port(), env, data_dir / "logs") for name in SERVICES]
    stack = Stack(kafka, {s.name: s.url for s in services}, services, extra_env or {})
    try:
        wait_ready(services)
    except RuntimeError:
        stack.stop()
        raise
    return stack
