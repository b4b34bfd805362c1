"""One running stack for the whole chaos suite, handed to each test only once it is whole."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.chaos.harness import DevStack
from tests.chaos.probes import ready

HEALTHY_WITHIN = 30.0


class StackKeeper:
    """Starts a stack when first asked, and again only when the last one is no longer whole.

    Every fault of the suite ends with the stack back up (a restarted child, a new `up`), so
    the tests share one and skip the start-up (~15 s of CPU). A stack a failed test left
    broken (a hung broker, a child that never came back) is taken down and replaced: the
    failure stays in its own test, the next one starts from a whole stack."""

    def __init__(self, new_root: Callable[[], Path]) -> None:
        self._new_root = new_root
        self._stack: DevStack | None = None

    def healthy(self) -> DevStack:
        current, self._stack = self._stack, None
        if current is not None:
            why = broken(current)
            if why is None:
                self._stack = current
                return current
            print(f"replacing the stack in {current.root}: {why}")
            if current.started():
                current.down()  # its assertion (nothing left running) holds here too
        started = DevStack(self._new_root())
        started.up()
        self._stack = started
        return started

    def close(self) -> None:
        if self._stack is not None and self._stack.started():
            self._stack.down()


def broken(stack: DevStack, within: float = HEALTHY_WITHIN) -> str | None:
    """Why ``stack`` is not whole (``None`` when it is): its supervisor gone, a child not
    running, or a /readyz not ready (broker and consumers ok) within ``within`` seconds."""
    if not stack.supervised():
        return "no supervisor"
    deadline = time.monotonic() + within
    while True:
        why = _not_whole(stack)
        if why is None or time.monotonic() > deadline:
            return why
        time.sleep(0.25)


def _not_whole(stack: DevStack) -> str | None:
    state = stack.state()
    idle = [n for n, e in state["supervision"].items() if e["state"] != "running"]
    if idle:
        return f"not running: {idle}"
    for name, url in state["services"].items():
        try:
            response = httpx.get(f"{url}/readyz", timeout=5)
        except httpx.HTTPError as exc:
            return f"{name}: {exc!r}"
        try:
            body = response.json()
        except ValueError:
            body = {}
        if not ready(response.status_code, body):
            return f"{name}: {response.status_code} {response.text[:200]}"
    return None
