"""Starting one service as a child process, and proving that child is the one answering.

Each child gets a fresh instance id (``IKM_INSTANCE_ID``); ``wait_ready`` accepts a /readyz
200 only when it carries that id, so a stranger already listening on the port cannot pass
for the child. A child that cannot bind its port exits, and the wait names the port.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx

from ikmkit.service.instance import INSTANCE_ENV, INSTANCE_HEADER

HOST = "127.0.0.1"

KEEP_ALIVE_SECONDS = 75
"""How long a service keeps an idle HTTP connection open: longer than whatever sends on it
keeps it for its next request (ingress-nginx's upstream pool and AWS's load balancer: 60 s;
httpx's pool: 5 s), so the sender always gives it up first. At uvicorn's default (5 s) a
request sent as the server closed the connection was reset: a 502 for a POST through the
ingress. The image's entrypoint has the same default; ``UVICORN_TIMEOUT_KEEP_ALIVE``
(uvicorn's own variable) sets both, e.g. above 600 s behind Google Cloud's load balancer."""
BIND_FAILURE = "address already in use"


class StartupError(RuntimeError):
    """A service did not come up; the message says which one and why."""


@dataclass
class ServiceProcess:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    port: int = 0
    instance: str = ""
    log_path: Path | None = None
    log_offset: int = 0

    def answered_by_me(self, response: httpx.Response) -> bool:
        return bool(response.headers.get(INSTANCE_HEADER) == self.instance)

    def exit_reason(self) -> str:
        """Why the child exited, from what it wrote to its log since this start."""
        tail = ""
        if self.log_path is not None and self.log_path.exists():
            with self.log_path.open("rb") as log:
                log.seek(self.log_offset)
                tail = log.read()[-8192:].decode(errors="replace")
        if BIND_FAILURE in tail.lower():
            return (
                f"{self.name} could not bind {HOST}:{self.port}: address already in use "
                f"(another process holds port {self.port}; stop it or free the port)"
            )
        where = f"; see {self.log_path}" if self.log_path else ""
        return f"{self.name} exited with {self.process.returncode}{where}"


def start_service(name: str, port: int, env: dict[str, str], log_dir: Path) -> ServiceProcess:
    """One service as a uvicorn child process, logging to ``log_dir/<name>.log``."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    instance = uuid.uuid4().hex
    log_file = open(log_path, "ab")  # noqa: SIM115 - owned by the child
    offset = log_file.tell()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            f"services.{name}.main:create_app",
            "--factory",
            "--host",
            HOST,
            "--port",
            str(port),
            "--no-access-log",
            "--timeout-keep-alive",
            env.get("UVICORN_TIMEOUT_KEEP_ALIVE", str(KEEP_ALIVE_SECONDS)),
            "--loop",  # as the image runs it (deploy/docker/entrypoint.sh: uvloop's tail)
            "asyncio",
        ],
        env={**env, INSTANCE_ENV: instance},
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )
    log_file.close()  # the child holds its own descriptor
    return ServiceProcess(name, f"http://{HOST}:{port}", process, port, instance, log_path, offset)


def _ready(client: httpx.Client, svc: ServiceProcess, strangers: set[str]) -> bool:
    with contextlib.suppress(httpx.HTTPError):
        response = client.get(f"{svc.url}/readyz")
        if not svc.answered_by_me(response):
            strangers.add(svc.name)
            return False
        strangers.discard(svc.name)
        # "degraded" (parked events) is up: the events wait for an operator, not for a restart.
        return response.status_code == 200 or _degraded(response)
    return False


def _degraded(response: httpx.Response) -> bool:
    with contextlib.suppress(ValueError):
        return bool(response.json().get("status") == "degraded")
    return False


def wait_ready(services: list[ServiceProcess], timeout: float = 90.0) -> None:
    """Until every service's own /readyz answers 200; fails fast, naming why, if one exits."""
    deadline = time.monotonic() + timeout
    pending = {s.name: s for s in services}
    strangers: set[str] = set()
    # One client for every probe: httpx.get builds a client, TLS context included, each time
    # (~20 ms of CPU: five services probed every 0.2 s took a seventh of a core while starting).
    with httpx.Client(timeout=1) as client:
        while pending and time.monotonic() < deadline:
            for name, svc in list(pending.items()):
                if svc.process.poll() is not None:
                    raise StartupError(svc.exit_reason())
                if _ready(client, svc, strangers):
                    del pending[name]
            time.sleep(0.2)
    if pending:
        why = [
            f"{n} ({pending[n].url} is answered by another process)" if n in strangers else n
            for n in pending
        ]
        raise StartupError(f"not ready after {timeout}s: {', '.join(why)}")
