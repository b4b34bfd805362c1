"""The `ikm dev` supervisor's restart policy (fake children and clock; the real processes are
killed in tests/chaos): restart alone, exponential backoff, give up after the limit."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from ikm_cli.dev import SERVICES
from ikm_cli.supervisor import FAILED, RESTARTING, RUNNING, RestartPolicy, Supervisor


@dataclass
class FakeChild:
    name: str
    pid: int | None = 100
    exit_code: int | None = None
    spawn_fails: bool = False
    spawned: list[float] = field(default_factory=list)
    clock: list[float] = field(default_factory=lambda: [0.0])

    def poll(self) -> int | None:
        return self.exit_code

    def respawn(self) -> None:
        if self.spawn_fails:
            raise OSError("cannot start")
        self.spawned.append(self.clock[0])
        self.exit_code = None
        self.pid = (self.pid or 0) + 1

    def exit_reason(self) -> str:
        return f"{self.name} exited with {self.exit_code}"


def supervised(*names: str) -> tuple[Supervisor, dict[str, FakeChild], list[float], list[str]]:
    clock = [0.0]
    children = {n: FakeChild(n, clock=clock) for n in names}
    lines: list[str] = []
    supervisor = Supervisor(
        list(children.values()), RestartPolicy(), report=lines.append, clock=lambda: clock[0]
    )
    return supervisor, children, clock, lines


def run_for(supervisor: Supervisor, clock: list[float], seconds: float) -> None:
    end = clock[0] + seconds
    while clock[0] < end:
        supervisor.tick()
        clock[0] = round(clock[0] + 0.1, 1)


def test_a_crashed_child_is_restarted_alone_after_a_backoff() -> None:
    supervisor, children, clock, lines = supervised("registry", "notify", "broker")
    children["registry"].exit_code = -9
    supervisor.tick()
    assert supervisor.snapshot()["registry"]["state"] == RESTARTING
    run_for(supervisor, clock, 1)
    snapshot = supervisor.snapshot()
    assert snapshot["registry"] == {"state": RUNNING, "pid": 101, "restarts": 1, "last_exit": -9}
    assert children["registry"].spawned == [0.5]
    assert snapshot["notify"] == {"state": RUNNING, "pid": 100, "restarts": 0, "last_exit": None}
    assert snapshot["broker"]["restarts"] == 0
    assert "registry exited with -9; restarting in 0.5s" in lines


@pytest.mark.parametrize("crashed", list(SERVICES))
def test_every_service_of_the_dev_stack_is_restarted_alone(crashed: str) -> None:
    """``ikm dev up`` supervises the five services (insights included) the same way."""
    supervisor, children, clock, lines = supervised(*SERVICES, "broker")
    children[crashed].exit_code = -9
    run_for(supervisor, clock, 1)
    snapshot = supervisor.snapshot()
    assert set(snapshot) == {"registry", "subsidy", "training", "notify", "insights", "broker"}
    assert snapshot[crashed] == {"state": RUNNING, "pid": 101, "restarts": 1, "last_exit": -9}
    assert {n: s["restarts"] for n, s in snapshot.items() if n != crashed} == dict.fromkeys(
        set(snapshot) - {crashed}, 0
    )
    assert f"{crashed} exited with -9; restarting in 0.5s" in lines


def test_backoff_doubles_and_the_child_fails_after_five_restarts_in_a_minute() -> None:
    supervisor, children, clock, lines = supervised("notify", "broker")
    crash_times = []
    for _ in range(6):
        children["notify"].exit_code = 1
        crash_times.append(clock[0])
        run_for(supervisor, clock, 9)
    delays = [s - c for s, c in zip(children["notify"].spawned, crash_times[:5], strict=True)]
    assert [round(d, 1) for d in delays] == [0.5, 1.0, 2.0, 4.0, 8.0]
    assert supervisor.snapshot()["notify"]["state"] == FAILED
    assert supervisor.snapshot()["notify"]["pid"] is None
    assert supervisor.failed == ["notify"]
    assert supervisor.snapshot()["broker"]["state"] == RUNNING
    assert "FAILED" in lines[-1]


def test_crashes_older_than_the_window_are_forgiven() -> None:
    supervisor, children, clock, _ = supervised("registry")
    for _ in range(12):  # one crash every 15 s: never more than five in any minute
        children["registry"].exit_code = 1
        run_for(supervisor, clock, 15)
    assert supervisor.snapshot()["registry"]["state"] == RUNNING
    assert supervisor.snapshot()["registry"]["restarts"] == 12


def test_a_child_that_cannot_start_counts_against_the_same_limit() -> None:
    supervisor, children, clock, _ = supervised("broker")
    children["broker"].exit_code = -9
    children["broker"].spawn_fails = True
    run_for(supervisor, clock, 60)
    assert supervisor.snapshot()["broker"]["state"] == FAILED
    assert supervisor.snapshot()["broker"]["restarts"] == 5
