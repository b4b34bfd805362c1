"""Fault-injection suite: each test injects one fault and records what happened to the events.

Every test reports its counts through the ``fault_report`` fixture; ``make chaos`` runs
this folder and prints one row per fault (also written to ``.ikm/chaos-report.json``).
The assertions live in the tests: no acknowledged event lost, no effect duplicated.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.chaos.harness import DevStack
from tests.chaos.keeper import StackKeeper


# package, not session: the stack (six processes, consumers polling) is down before `make test`
# goes on to the next folder
@pytest.fixture(scope="package")
def _stacks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackKeeper]:
    keeper = StackKeeper(lambda: tmp_path_factory.mktemp("stack"))
    yield keeper
    keeper.close()


@pytest.fixture
def stack(_stacks: StackKeeper) -> DevStack:
    """One running stack for the whole suite (starting one costs ~15 s of CPU, a minute on a
    loaded machine): every fault here ends with the stack back up. Each test gets it only
    once it is whole (every child running, every /readyz ready); one left broken by a failed
    test is taken down and replaced, so a failure stays in its own test."""
    return _stacks.healthy()


REPORT_FILE = Path(".ikm/chaos-report.json")


@dataclass(frozen=True)
class FaultCounts:
    fault: str
    sent: int
    acknowledged: int
    stored: int
    published: int
    consumed: int
    duplicated: int
    lost: int


_ROWS: list[FaultCounts] = []


class FaultReport:
    def record(
        self,
        fault: str,
        *,
        sent: int,
        acknowledged: int,
        stored: int,
        published: int,
        consumed: int,
        duplicated: int,
        lost: int,
    ) -> FaultCounts:
        row = FaultCounts(fault, sent, acknowledged, stored, published, consumed, duplicated, lost)
        _ROWS.append(row)
        return row


@pytest.fixture
def fault_report() -> FaultReport:
    return FaultReport()


def pytest_sessionfinish(session: pytest.Session) -> None:
    """On an xdist worker (``make test`` runs several), hand this worker's rows to the
    controller, which prints the report."""
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["chaos_rows"] = [asdict(r) for r in _ROWS]


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """xdist's controller: a worker's rows (see ``pytest_sessionfinish``)."""
    _ROWS.extend(FaultCounts(**row) for row in node.workeroutput.get("chaos_rows", []))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _ROWS:
        return
    columns = ["sent", "acknowledged", "stored", "published", "consumed", "duplicated", "lost"]
    width = max(len(r.fault) for r in _ROWS)
    terminalreporter.section("fault injection")
    terminalreporter.write_line(f"{'fault':<{width}}  " + "  ".join(f"{c:>12}" for c in columns))
    for row in _ROWS:
        values = "  ".join(f"{getattr(row, c):>12}" for c in columns)
        terminalreporter.write_line(f"{row.fault:<{width}}  {values}")
    REPORT_FILE.parent.mkdir(parents=True, exist_ok=True)
    REPORT_FILE.write_text(json.dumps([asdict(r) for r in _ROWS], indent=2))
