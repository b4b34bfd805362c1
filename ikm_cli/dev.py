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
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from contracts.catalog import all_topics
from ikm_cli.devkeys import signing_env
from ikm_cli.launcher import ServiceProcess, StartupError, start_service, wait_ready
from ikm_cli.output import JsonOption, emit, stdout
from ikm_cli.state import STATE_DIR, STATE_FILE, read_state
from ikm_cli.supervisor import Supervisor
from ikmdev.infra import EmbeddedKafka, KafkaEndpoint, free_port, resolve_kafka
from ikmkit.messaging.kafka_topics import ensure_topics

app = typer.Typer(help="Run the whole system locally.", no_args_is_help=True)
console = Console(stderr=True, soft_wrap=True)  # a message stays one line in dev.log

SERVICES: dict[str, int] = {
    "registry": 8001,
    "subsidy": 8002,
    "training": 8003,
    "notify": 8004,
    "insights": 8005,
}
LOG_DIR = STATE_DIR / "logs"

STATUS_KEYS = ("pids", "restarts", "broker", "failed", "supervision", "smtp", "smtp_inbox")

__all__ = ["SERVICES", "ServiceProcess", "start_service", "wait_ready"]


def _port_for(preferred: int) -> int:
    try:
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", preferred))
        return preferred
    except OSError:
        return free_port()


def _service_env(kafka: str, data_dir: Path, extra: dict[str, str]) -> dict[str, str]:
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": kafka,
        "IKM_DATA_DIR": str(data_dir),
        # The embedded stack is a developer's: the dev JWT secret and generated signing keys.
        "IKM_ENV": "development",
        # Development only: webhooks to receivers on this machine (production allows none).
        "NOTIFY_WEBHOOK_ALLOWED_HOSTS": os.environ.get(
            "NOTIFY_WEBHOOK_ALLOWED_HOSTS", "localhost,127.0.0.0/8,::1"
        ),
    }
    env.update(signing_env(SERVICES, data_dir, env))  # every service signs, every consumer checks
    env.update(extra)
    return env


class ServiceChild:
    """A service under supervision: restarted on the same port with a fresh instance id."""

    def __init__(self, name: str, port: int, env: dict[str, str]) -> None:
        self.name, self.port, self.env = name, port, env
        self.current = start_service(name, port, env, LOG_DIR)

    @property
    def pid(self) -> int | None:
        return self.current.process.pid

    def poll(self) -> int | None:
        return self.current.process.poll()

    def exit_reason(self) -> str:
        return self.current.exit_reason()

    def respawn(self) -> None:
        self.current = start_service(self.name, self.port, self.env, LOG_DIR)

    def stop(self) -> None:
        process = self.current.process
        if process.poll() is None:
            process.terminate()


class BrokerChild:
    """The embedded broker under supervision: restarted on the same address, topics recreated.

    Its log is in memory and starts empty after a restart; the services' outboxes are the
    durable record, and their relays publish again what the new broker does not hold.
    """

    name = "broker"

    def __init__(self, broker: EmbeddedKafka) -> None:
        self.broker = broker

    @property
    def pid(self) -> int | None:
        return self.broker.pid

    def poll(self) -> int | None:
        return self.broker.poll()

    def exit_reason(self) -> str:
        return f"embedded broker exited with {self.broker.poll()}"

    def respawn(self) -> None:
        self.broker.restart()
        for attempt in range(3):  # a broker that just opened its port may not serve admin yet
            try:
                asyncio.run(ensure_topics(self.broker.bootstrap_servers, all_topics()))
                return
            except Exception:
                if attempt == 2:
                    raise
                time.sleep(1)


def _write_state(
    kafka: KafkaEndpoint,
    services: list[ServiceChild],
    supervisor: Supervisor,
    extra: dict[str, Any],
) -> None:
    """Rewritten after every restart, so ``down`` always knows the current pids."""
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    children = supervisor.snapshot()
    state = {
        "kafka": kafka.bootstrap_servers,
        "kafka_kind": kafka.kind,
        "services": {s.name: f"http://127.0.0.1:{s.port}" for s in services},
        "pids": {s.name: children[s.name]["pid"] for s in services},
        "restarts": {s.name: children[s.name]["restarts"] for s in services},
        "supervision": children,
        "failed": supervisor.failed,
        "supervisor_pid": os.getpid(),
        **extra,
    }
    if kafka.embedded is not None:
        state["broker"] = children["broker"]
    temporary = STATE_FILE.with_suffix(".tmp")
    temporary.write_text(json.dumps(state, indent=2))
    temporary.replace(STATE_FILE)  # readers never see half a file


def _stop_all(services: list[ServiceChild], kafka: KafkaEndpoint) -> None:
    for svc in services:
        svc.stop()
    for svc in services:
        try:
            svc.current.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            svc.current.process.kill()
            svc.current.process.wait()
    kafka.stop()
    with contextlib.suppress(FileNotFoundError):
        STATE_FILE.unlink()


def _start_services(
    kafka: KafkaEndpoint, data_dir: Path, env: dict[str, str], any_ports: bool
) -> list[ServiceChild]:
    env = _service_env(kafka.bootstrap_servers, data_dir, {**kafka.client_env, **env})
    return [
        ServiceChild(name, free_port() if any_ports else _port_for(preferred), env)
        for name, preferred in SERVICES.items()
    ]


def _announce(kafka: KafkaEndpoint, services: list[ServiceChild]) -> None:
    console.print(
        f"[bold green]IKM platform is up[/] (Kafka {kafka.kind} at {kafka.bootstrap_servers})"
    )
    for svc in services:
        console.print(f"  {svc.name:<9} {svc.current.url}   docs: {svc.current.url}/docs")
    console.print("Press Ctrl-C to stop everything.")


def _supervise(data_dir: Path, any_ports: bool) -> None:
    kafka = resolve_kafka()
    services: list[ServiceChild] = []
    stopping = False

    def request_stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    try:
        asyncio.run(ensure_topics(kafka.bootstrap_servers, all_topics()))
        extra_env, extra_state = _dev_extras()
        services.extend(_start_services(kafka, data_dir, extra_env, any_ports))
        wait_ready([s.current for s in services])
        children: list[Any] = [*services]
        if kafka.embedded is not None:
            children.append(BrokerChild(kafka.embedded))
        supervisor = Supervisor(
            children,
            on_change=lambda: _write_state(kafka, services, supervisor, extra_state),
            report=lambda line: console.print(line, style="yellow", markup=False),
        )
        _write_state(kafka, services, supervisor, extra_state)
        _announce(kafka, services)
        while not stopping:
            supervisor.tick()
            time.sleep(0.2)
    except StartupError as exc:
        console.print(f"ikm dev up failed: {exc}", style="bold red", markup=False)
        raise typer.Exit(1) from exc
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
    any_ports: Annotated[
        bool, typer.Option("--any-ports", help="Free ports instead of 8001-8005 (several stacks).")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Start Kafka (resolved) and every service; foreground unless --detach (then the
    stack's status is the result)."""
    running = read_state(STATE_FILE)
    if running and _alive(running.get("supervisor_pid")):
        console.print(
            "[yellow]already running[/]; `ikm dev status` shows it, `ikm dev down` stops it"
        )
        raise typer.Exit(1)
    if not detach:
        _supervise(data_dir, any_ports)
        return
    state = _start_detached(data_dir, any_ports)
    emit(_summary(state), as_json, lambda: _show_status(state))


def _start_detached(data_dir: Path, any_ports: bool) -> dict[str, Any]:
    """The supervisor as a background process; its state once every service is ready."""
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        STATE_FILE.unlink()
    log = open(STATE_DIR / "dev.log", "ab")  # noqa: SIM115 - owned by the child
    log_start = log.tell()
    child = subprocess.Popen(
        [
            *(sys.executable, "-m", "ikm_cli.main", "dev", "up", "--data-dir", str(data_dir)),
            *(["--any-ports"] if any_ports else []),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        state = read_state(STATE_FILE)
        if state is not None:
            return state
        if child.poll() is not None:
            console.print(_tail(STATE_DIR / "dev.log", log_start))
            console.print(f"[red]failed to start[/]; see {STATE_DIR / 'dev.log'}")
            raise typer.Exit(1)
        time.sleep(0.3)
    console.print("[red]timed out waiting for the services[/]")
    raise typer.Exit(1)


def _tail(path: Path, offset: int, lines: int = 6) -> str:
    """What the background supervisor said since ``offset`` (its reason for failing)."""
    with path.open("rb") as log:
        log.seek(offset)
        text = log.read().decode(errors="replace")
    return "\n".join(text.strip().splitlines()[-lines:])


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def _summary(state: dict[str, Any]) -> dict[str, Any]:
    return {
        "kafka": state["kafka"],
        "services": state["services"],
        **{k: v for k, v in state.items() if k in STATUS_KEYS},
    }


def _show_status(state: dict[str, Any]) -> None:
    out = stdout()
    out.print(f"kafka     {state['kafka']} ({state.get('kafka_kind')})", highlight=False)
    for name, info in state.get("supervision", {}).items():
        url = state["services"].get(name, state["kafka"])
        out.print(
            f"{name:<9} {url:<24} {info['state']:<10} pid {info['pid']}  "
            f"restarts {info['restarts']}",
            highlight=False,
        )


@app.command()
def status(as_json: JsonOption = False) -> None:
    """Where Kafka and the services are; exit 1 when no stack is running."""
    state = read_state(STATE_FILE)
    if state is None:
        emit({"running": False}, as_json, lambda: console.print("not running"))
        raise typer.Exit(1)
    emit(_summary(state), as_json, lambda: _show_status(state))


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
    leftovers = [*state.get("pids", {}).values(), state.get("broker", {}).get("pid")]
    for child in leftovers:
        if _alive(child):
            os.kill(child, signal.SIGKILL)
    with contextlib.suppress(FileNotFoundError):
        STATE_FILE.unlink()
    console.print("stopped")
