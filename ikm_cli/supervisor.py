"""Keeps ``ikm dev up``'s children running: a crashed one is restarted, alone, with backoff.

Each child (a service, or the embedded broker) is restarted after an exponential backoff;
more than ``limit`` crashes within ``window`` seconds and it is marked failed and left down.
A crash never stops anything else: the broker and the other services keep running.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

RUNNING, RESTARTING, FAILED = "running", "restarting", "failed"


@dataclass(frozen=True)
class RestartPolicy:
    limit: int = 5
    window: float = 60.0
    initial_backoff: float = 0.5
    max_backoff: float = 10.0

    def backoff(self, recent_crashes: int) -> float:
        return float(min(self.initial_backoff * 2 ** max(recent_crashes - 1, 0), self.max_backoff))


class Child(Protocol):
    """One supervised process: how to see it died and how to start it again."""

    name: str

    @property
    def pid(self) -> int | None: ...

    def poll(self) -> int | None: ...

    def respawn(self) -> None: ...

    def exit_reason(self) -> str: ...


@dataclass
class Slot:
    child: Child
    state: str = RUNNING
    restarts: int = 0
    last_exit: int | None = None
    crashes: deque[float] = field(default_factory=deque)
    restart_at: float = 0.0


class Supervisor:
    """Call ``tick()`` often; ``on_change`` runs after every crash, restart or failure."""

    def __init__(
        self,
        children: list[Child],
        policy: RestartPolicy | None = None,
        *,
        on_change: Callable[[], None] = lambda: None,
        report: Callable[[str], None] = print,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.slots = {c.name: Slot(c) for c in children}
        self.policy = policy or RestartPolicy()
        self._on_change = on_change
        self._report = report
        self._clock = clock

    def tick(self) -> None:
        for slot in self.slots.values():
            if slot.state == RESTARTING and self._clock() >= slot.restart_at:
                self._restart(slot)
            elif slot.state == RUNNING and (code := slot.child.poll()) is not None:
                self._crashed(slot, code)

    def _crashed(self, slot: Slot, code: int | None) -> None:
        now = self._clock()
        slot.last_exit = code
        slot.crashes.append(now)
        while slot.crashes and slot.crashes[0] < now - self.policy.window:
            slot.crashes.popleft()
        why = slot.child.exit_reason()
        if len(slot.crashes) > self.policy.limit:
            slot.state = FAILED
            self._report(
                f"{why}; {len(slot.crashes)} exits in {self.policy.window:.0f}s: FAILED,"
                " not restarting it (everything else keeps running)"
            )
        else:
            delay = self.policy.backoff(len(slot.crashes))
            slot.state, slot.restart_at = RESTARTING, now + delay
            self._report(f"{why}; restarting in {delay:.1f}s")
        self._on_change()

    def _restart(self, slot: Slot) -> None:
        slot.restarts += 1
        try:
            slot.child.respawn()
        except Exception as exc:  # a failed start is one more crash, under the same limit
            self._report(f"{slot.child.name} did not start: {exc}")
            slot.state = RUNNING
            self._crashed(slot, None)
            return
        slot.state = RUNNING
        self._report(f"{slot.child.name} restarted (pid {slot.child.pid})")
        self._on_change()

    def snapshot(self) -> dict[str, dict[str, object]]:
        """Per child: state, pid, restarts so far, last exit code (what ``status`` shows)."""
        return {
            name: {
                "state": slot.state,
                "pid": slot.child.pid if slot.state == RUNNING else None,
                "restarts": slot.restarts,
                "last_exit": slot.last_exit,
            }
            for name, slot in self.slots.items()
        }

    @property
    def failed(self) -> list[str]:
        return [name for name, slot in self.slots.items() if slot.state == FAILED]
