"""``ikm dev``: run the whole system locally on resolved infrastructure.

``up`` resolves Kafka (env -> Docker -> embedded Tansu), creates the topics,
starts one uvicorn process per service and supervises them in the foreground;
Ctrl-C (or ``ikm dev down``) stops every process it started. ``--detach`` runs
the same supervisor in the background and returns once every service is ready.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console

from contracts.catalog import all_topics
from ikm_cli.devkeys import signing_env
from ikmkit.infra import KafkaEndpoint, free_port, resolve_kafka
from ikmkit.kafka import ensure_topics

app = typer.Typer(help="Run the whole system locally.", no_args_is_help=True)
console = Console(stderr=True)

SERVICES: dict[str, int] = {"registry": 8001, "subsidy": 8002, "training": 8003, "notify": 8004}
STATE_DIR = Path(os.environ.get("IKM_STATE_DIR", ".ikm"))
STATE_FILE = STATE_DIR / "dev.json"
LOG_DIR = STATE_DIR / "logs"


def _port_for(preferred: int) -> int:
    try:
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", preferred))
        return preferred
    except OSError:
        return free_port()


@dataclass
class ServiceProcess:
    name: str
    url: str
    process: subprocess.Popen[bytes]


def _service_env(kafka: str, data_dir: Path, extra: dict[str, str]) -> dict[str, str]:
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": kafka,
        "IKM_DATA_DIR": str(data_dir),
        # The embedded stack is a developer's: the dev JWT secret and generated signing keys.
        "IKM_ENV": "development",
    }
    env.update(signing_env(SERVICES, data_dir, env))  # every service signs, every consumer checks
    env.update(extra)
    return env


def start_service(
    name: str, port: int, env: dict[str, str], log_dir: Path = LOG_DIR
) -> ServiceProcess:
    """One service as a uvicorn child process, logging to ``log_dir/<name>.log``."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log_file = open(log_dir / f"{name}.log", "ab")  # noqa: SIM115 - owned by the child
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            f"services.{name}.main:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
        ],
        env=env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )
    return ServiceProcess(name, f"http://127.0.0.1:{port}", process)


def wait_ready(services: list[ServiceProcess], timeout: float = 90.0) -> None:
    """Until every service's /readyz answers 200; fails fast if one exits."""
    deadline = time.monotonic() + timeout
    pending = {s.name: s for s in services}
    while pending and time.monotonic() < deadline:
        for name, svc in list(pending.items()):
            if svc.process.poll() is not None:
                raise RuntimeError(f"{name} exited with {svc.process.returncode}; see its log")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{svc.url}/readyz", timeout=1).status_code == 200:
                    del pending[name]
        time.sleep(0.2)
    if pending:
        raise RuntimeError(f"not ready after {timeout}s: {', '.join(pending)}")


def _write_state(
    kafka: KafkaEndpoint, services: list[ServiceProcess], extra: dict[str, Any]
) -> None:
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    state = {
        "kafka": kafka.bootstrap_servers,
        "kafka_kind": kafka.kind,
        "services": {s.name: s.url for s in services},
        "pids": {s.name: s.process.pid for s in services},
        "supervisor_pid": os.getpid(),
        **extra,
    }
    STATE_FILE.write_text(json.dumps(state, indent=2))


def _stop_all(services: list[ServiceProcess], kafka: KafkaEndpoint) -> None:
    for svc in services:
        if svc.process.poll() is None:
            svc.process.terminate()
    for svc in services:
        try:
            svc.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            svc.process.kill()
            svc.process.wait()
    kafka.stop()
    with contextlib.suppress(FileNotFoundError):
        STATE_FILE.unlink()


def _supervise(data_dir: Path) -> None:
    kafka = resolve_kafka()
    services: list[ServiceProcess] = []
    stopping = False

    def request_stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    try:
        asyncio.run(ensure_topics(kafka.bootstrap_servers, all_topics()))
        extra_env, extra_state = _dev_extras()
        env = _service_env(kafka.bootstrap_servers, data_dir, extra_env)
        for name, preferred in SERVICES.items():
            services.append(start_service(name, _port_for(preferred), env))
        wait_ready(services)
        _write_state(kafka, services, extra_state)
        console.print(
            f"[bold green]IKM platform is up[/] (Kafka {kafka.kind} at {kafka.bootstrap_servers})"
        )
        for svc in services:
            console.print(f"  {svc.name:<9} {svc.url}   docs: {svc.url}/docs")
        console.print("Press Ctrl-C to stop everything.")
        while not stopping:
            for svc in services:
                if svc.process.poll() is not None:
                    console.print(f"[red]{svc.name} exited ({svc.process.returncode}); stopping[/]")
                    stopping = True
            time.sleep(0.3)
    finally:
        console.print("stopping ...")
        _stop_all(services, kafka)
        _stop_dev_extras()


_extras: list[Any] = []


def _dev_extras() -> tuple[dict[str, str], dict[str, Any]]:
    """Local stand-ins the services need in development (e.g. an SMTP sink for notify)."""
    try:
        from ikm_cli.devextras import start_dev_extras
    except ImportError:
        return {}, {}
    env, state, handles = start_dev_extras(STATE_DIR)
    _extras.extend(handles)
    return env, state


def _stop_dev_extras() -> None:
    for handle in _extras:
        with contextlib.suppress(Exception):
            handle.stop()


@app.command()
def up(
    detach: Annotated[bool, typer.Option("--detach", "-d", help="Run in the background.")] = False,
    data_dir: Annotated[Path, typer.Option(help="SQLite data directory.")] = STATE_DIR / "data",
) -> None:
    """Start Kafka (resolved) and every service; foreground unless --detach."""
    if STATE_FILE.exists() and _alive(json.loads(STATE_FILE.read_text()).get("supervisor_pid")):
        console.print(
            "[yellow]already running[/]; `ikm dev status` shows it, `ikm dev down` stops it"
        )
        raise typer.Exit(1)
    if not detach:
        _supervise(data_dir)
        return
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        STATE_FILE.unlink()
    log = open(STATE_DIR / "dev.log", "ab")  # noqa: SIM115 - owned by the child
    child = subprocess.Popen(
        [sys.executable, "-m", "ikm_cli.main", "dev", "up", "--data-dir", str(data_dir)],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if STATE_FILE.exists():
            console.print(STATE_FILE.read_text())
            return
        if child.poll() is not None:
            console.print(f"[red]failed to start[/]; see {STATE_DIR / 'dev.log'}")
            raise typer.Exit(1)
        time.sleep(0.3)
    console.print("[red]timed out waiting for the services[/]")
    raise typer.Exit(1)


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


@app.command()
def status(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable.")] = False,
) -> None:
    """Where Kafka and the services are."""
    if not STATE_FILE.exists():
        if as_json:
            print(json.dumps({"running": False}))
        else:
            console.print("not running")
        raise typer.Exit(1)
    state = json.loads(STATE_FILE.read_text())
    summary = {
        "kafka": state["kafka"],
        "services": state["services"],
        **{k: v for k, v in state.items() if k in ("smtp", "smtp_inbox")},
    }
    if as_json:
        print(json.dumps(summary))
        return
    console.print(f"kafka     {state['kafka']} ({state.get('kafka_kind')})")
    for name, url in state["services"].items():
        console.print(f"{name:<9} {url}")


@app.command()
def down() -> None:
    """Stop everything `ikm dev up` started."""
    if not STATE_FILE.exists():
        console.print("not running")
        return
    state = json.loads(STATE_FILE.read_text())
    pid = state.get("supervisor_pid")
    if _alive(pid):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
    for child in state.get("pids", {}).values():
        if _alive(child):
            os.kill(child, signal.SIGKILL)
    with contextlib.suppress(FileNotFoundError):
        STATE_FILE.unlink()
    console.print("stopped")
