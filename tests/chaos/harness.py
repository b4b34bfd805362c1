"""The real embedded stack (`ikm dev up --detach` in a temporary folder), a bounded load of
registrations, and the counts of what became of them (acknowledged, stored, on the log,
consumed downstream exactly once)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from contracts import envelope as ce
from contracts.registry import ENTERPRISE_TOPIC, EnterpriseRegistered
from ikmkit.auth import issue_token
from ikmkit.service.settings import DEV_JWT_SECRET
from tests.support.kafka import header, read_topic
from tests.support.registry_api import enterprise_body

if TYPE_CHECKING:
    from tests.chaos.conftest import FaultReport

MINISTRY = {
    "Authorization": f"Bearer {issue_token(DEV_JWT_SECRET, subject='chaos', role='ministry')}"
}
CLI_TIMEOUT = 150


@dataclass
class DevStack:
    """`ikm dev` driven exactly as an operator would, with its own state folder."""

    root: Path
    env: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("KAFKA_BOOTSTRAP_SERVERS", "MONGODB_URL")
        }
        self.env.update({"IKM_STATE_DIR": str(self.root / "state"), "IKM_NO_DOCKER": "1"})

    def ikm(self, *args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "ikm_cli.main", *args],
            env={**self.env, **extra_env},
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT,
            check=False,
        )

    def up(self) -> dict[str, Any]:
        """`ikm dev up --detach`; its status (with --json, what `ikm dev status --json` says:
        one CLI process fewer, seconds on a loaded machine)."""
        # --any-ports: other stacks on this host (tests, developers) may hold 8001-8005
        data = str(self.root / "data")
        started = self.ikm("dev", "up", "--detach", "--any-ports", "--json", "--data-dir", data)
        assert started.returncode == 0, started.stdout + started.stderr
        return dict(json.loads(started.stdout))

    def down(self) -> None:
        """`ikm dev down`; every process of the stack, restarted ones included, is gone."""
        state = self.state()
        pids = [state["supervisor_pid"], state["broker"]["pid"], *state["pids"].values()]
        stopped = self.ikm("dev", "down")
        assert stopped.returncode == 0, stopped.stdout + stopped.stderr
        assert [pid for pid in pids if pid and _alive(pid)] == [], "left running by `down`"

    def status(self) -> dict[str, Any]:
        """What the operator sees (`ikm dev status --json`): a CLI process, seconds on a loaded
        machine; for mere look-ups (addresses, pids) ``state()`` says the same from the file."""
        shown = self.ikm("dev", "status", "--json")
        assert shown.returncode == 0, shown.stdout + shown.stderr
        return dict(json.loads(shown.stdout))

    def state(self) -> dict[str, Any]:
        """The supervisor's state file as it is now (cheaper to poll than the CLI)."""
        return dict(json.loads((self.root / "state" / "dev.json").read_text()))

    def started(self) -> bool:
        """A state file is there: `down` has something to stop."""
        return (self.root / "state" / "dev.json").exists()

    def supervised(self) -> bool:
        """The supervisor named in the state file is alive."""
        return self.started() and _alive(self.state()["supervisor_pid"])

    def url(self, service: str) -> str:
        return str(self.state()["services"][service])

    def kill(self, child: str, sig: int = signal.SIGKILL) -> int:
        """``kill -9`` (or ``sig``) of a service or of the embedded broker; returns the pid
        signalled. (Reads the state file: a CLI call would block the event loop, and with it
        the load.)"""
        state = self.state()
        pid = state["broker"]["pid"] if child == "broker" else state["pids"][child]
        os.kill(pid, sig)
        return int(pid)

    async def restarted(self, child: str, killed: int, timeout: float = 60) -> dict[str, Any]:
        """The supervision entry of ``child`` once it runs again under a new pid (and, for a
        service, answers /readyz)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.state()
            entry = state["supervision"][child]
            back = entry["state"] == "running" and entry["pid"] not in (None, killed)
            if back and (child == "broker" or await _ready(state["services"][child])):
                return dict(entry)
            await asyncio.sleep(0.2)
        raise AssertionError(f"{child} not restarted within {timeout}s: {self.status()}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


async def _ready(url: str) -> bool:
    try:
        async with httpx.AsyncClient(timeout=2) as client:
            return (await client.get(f"{url}/readyz")).status_code == 200
    except httpx.HTTPError:
        return False


@dataclass
class Load:
    """What the generator sent and which registrations the registry acknowledged (2xx)."""

    sent: list[str] = field(default_factory=list)
    acknowledged: list[str] = field(default_factory=list)
    acknowledged_at: list[float] = field(default_factory=list)
    refused: dict[int, int] = field(default_factory=dict)
    broken: int = 0

    def acknowledged_after(self, moment: float) -> int:
        return sum(1 for at in self.acknowledged_at if at > moment)


async def _register_one(
    client: httpx.AsyncClient, url: Callable[[], str], nib: str, load: Load, retry_for: float
) -> None:
    deadline = time.monotonic() + retry_for
    load.sent.append(nib)
    while True:
        try:
            response = await client.post(f"{url()}/enterprises", json=enterprise_body(nib))
        except httpx.ConnectError:  # nothing reached the server: safe to try again
            if time.monotonic() > deadline:
                load.broken += 1
                return
            await asyncio.sleep(0.2)
            continue
        except httpx.HTTPError:  # may or may not have been stored: not acknowledged
            load.broken += 1
            return
        if response.is_success:
            load.acknowledged.append(nib)
            load.acknowledged_at.append(time.monotonic())
        else:
            load.refused[response.status_code] = load.refused.get(response.status_code, 0) + 1
        return


async def register(
    url: Callable[[], str],
    nibs: list[str],
    load: Load,
    *,
    concurrency: int = 16,
    rate: float = 100,
    retry_for: float = 90,
) -> Load:
    """POST /enterprises for every NIB, at most ``concurrency`` at a time and ``rate`` per
    second (so a fault lands mid-load), into ``load`` (read it while this runs to time the
    fault). A request that could not connect (the registry is restarting or the stack is
    down) is retried, as a client would."""
    gate = asyncio.Semaphore(concurrency)
    start = time.monotonic()

    async def one(index: int, nib: str) -> None:
        await asyncio.sleep(max(start + index / rate - time.monotonic(), 0))
        async with gate:
            await _register_one(client, url, nib, load, retry_for)

    async with httpx.AsyncClient(headers=MINISTRY, timeout=30) as client:
        await asyncio.gather(*(one(i, nib) for i, nib in enumerate(nibs)))
    return load


async def when(condition: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"load did not reach the fault point within {timeout}s")
        await asyncio.sleep(0.05)


async def _each(nibs: list[str], probe: Callable[[str], Awaitable[int]]) -> dict[str, int]:
    gate = asyncio.Semaphore(8)

    async def one(nib: str) -> tuple[str, int]:
        async with gate:
            return nib, await probe(nib)

    return dict(await asyncio.gather(*(one(n) for n in nibs)))


async def stored(registry: str, nibs: list[str]) -> set[str]:
    async with httpx.AsyncClient(base_url=registry, headers=MINISTRY, timeout=30) as client:

        async def found(nib: str) -> int:
            return int((await client.get(f"/enterprises/{nib}")).status_code == 200)

        return {nib for nib, ok in (await _each(nibs, found)).items() if ok}


async def published(kafka: str) -> set[str]:
    """NIBs with an EnterpriseRegistered on the enterprise topic (from the earliest offset,
    no consumer group)."""
    records = await asyncio.wait_for(read_topic(kafka, ENTERPRISE_TOPIC), 30)
    wanted = EnterpriseRegistered.ce_type()
    return {r.key.decode() for r in records if r.key and header(r, ce.H_TYPE) == wanted}


async def inbox_counts(notify: str, nibs: list[str]) -> dict[str, int]:
    """How many EnterpriseRegistered messages each enterprise's in-app inbox holds."""
    async with httpx.AsyncClient(base_url=notify, headers=MINISTRY, timeout=30) as client:

        async def messages(nib: str) -> int:
            response = await client.get(
                "/inbox", params={"recipient": f"enterprise:{nib}", "limit": 500}
            )
            response.raise_for_status()
            items = response.json()["items"]
            return sum(1 for item in items if item["event_type"] == "EnterpriseRegistered")

        return await _each(nibs, messages)


@dataclass
class Outcome:
    sent: list[str]
    acknowledged: set[str]
    stored: set[str]
    published: set[str]
    effects: dict[str, int]

    @property
    def consumed(self) -> set[str]:
        return {nib for nib, count in self.effects.items() if count >= 1}

    @property
    def duplicated(self) -> int:
        return sum(count - 1 for count in self.effects.values() if count > 1)

    @property
    def lost(self) -> set[str]:
        return self.acknowledged - self.published

    def counts(self) -> dict[str, int]:
        return {
            "sent": len(self.sent),
            "acknowledged": len(self.acknowledged),
            "stored": len(self.stored),
            "published": len(self.published),
            "consumed": len(self.consumed),
            "duplicated": self.duplicated,
            "lost": len(self.lost),
        }


async def settle(stack: DevStack, load: Load, timeout: float = 90) -> Outcome:
    """Wait until every acknowledged registration is on the log and has its effect downstream
    (or ``timeout``), then count everything once more."""
    state = stack.state()
    kafka, urls = state["kafka"], state["services"]
    acknowledged = set(load.acknowledged)
    waiting = set(acknowledged)
    deadline = time.monotonic() + timeout
    on_log: set[str] = set()
    while time.monotonic() < deadline:
        on_log, counts = await asyncio.gather(
            published(kafka), inbox_counts(urls["notify"], sorted(waiting))
        )
        waiting = {nib for nib, count in counts.items() if count == 0}
        if not waiting and acknowledged <= on_log:
            break
        await asyncio.sleep(0.5)  # a pass takes seconds on a loaded machine: no long naps
    await asyncio.sleep(2)  # a late duplicate would show up now
    # three processes answer these (registry, broker, notify): asked together
    found, on_log, effects = await asyncio.gather(
        stored(urls["registry"], load.sent),
        published(kafka),
        inbox_counts(urls["notify"], load.sent),
    )
    return Outcome(
        sent=list(load.sent),
        acknowledged=acknowledged,
        stored=found,
        published=on_log & set(load.sent),
        effects=effects,
    )


def check(outcome: Outcome, report: FaultReport, fault: str) -> None:
    report.record(fault, **outcome.counts())
    assert outcome.lost == set(), f"acknowledged but never on the log: {sorted(outcome.lost)[:5]}"
    assert outcome.duplicated == 0, {n: c for n, c in outcome.effects.items() if c > 1}
    assert outcome.acknowledged <= outcome.stored
    assert outcome.acknowledged <= outcome.consumed, "an acknowledged registration had no effect"
