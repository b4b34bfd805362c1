"""Where the insights consumer's CPU goes, stage by stage, without a profiler: each stage's
function is wrapped to add up the process CPU time spent in it (``time.process_time``), and
the WAL checkpoint thread reports its own CPU (``time.thread_time``, in that thread). Used by
``python -m bench._insights_alone --stages``.

Why not cProfile: since Python 3.12 it profiles every thread (``sys.monitoring``), so with
``time.process_time`` as its clock the checkpoint thread's waits (``Event.wait``,
``lock.acquire``) are charged the CPU the main thread spends meanwhile: session 19's "WAL
checkpoint thread ~14 %" was that, the thread's own CPU is ~1 µs per event (~2 %)."""

from __future__ import annotations

import functools
import inspect
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from ikmkit.messaging import consumer, inbox
from ikmkit.store import sqlite_checkpoint, sqlite_group
from services.insights import replicas, store
from services.insights.handlers import events

SPENT: Counter[str] = Counter()

# (owner, attribute, stage): what each stage is, in the order the consumer runs them
STAGES: tuple[tuple[Any, str, str], ...] = (
    (consumer.EventConsumer, "process", "consumer, all of it"),
    (consumer.EventConsumer, "_admit", "admit: decode + authenticity"),
    (consumer, "decode", "decode + contract validation"),
    (inbox, "unprocessed", "inbox: check ids"),
    (consumer.EventConsumer, "_handle_together", "handle (spans + insights)"),
    (events, "count_events", "insights: count_events"),
    (replicas.Replicas, "load", "insights: replicas read"),
    (replicas.Replicas, "flush", "insights: replicas written"),
    (store.CountRepository, "apply", "insights: cells upserted"),
    (inbox, "mark_processed", "inbox: record ids"),
    (sqlite_group.GroupCommit, "_commit", "SQLite COMMIT (WAL pages written)"),
)


def _timed(stage: str, function: Callable[..., Any]) -> Callable[..., Any]:
    clock = time.process_time
    if not _is_async(function):

        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = clock()
            try:
                return function(*args, **kwargs)
            finally:
                SPENT[stage] += clock() - started

        return timed

    @functools.wraps(function)
    async def timed_async(*args: Any, **kwargs: Any) -> Any:
        started = clock()
        try:
            return await function(*args, **kwargs)
        finally:
            SPENT[stage] += clock() - started

    return timed_async


def _is_async(function: Callable[..., Any]) -> bool:
    return inspect.iscoroutinefunction(function)


def _checkpoint_thread(run: Callable[[Any], None]) -> Callable[[Any], None]:
    def measured(self: Any) -> None:
        try:
            run(self)
        finally:
            SPENT[CHECKPOINT] += time.thread_time()

    return measured


@contextmanager
def stages() -> Iterator[Counter[str]]:
    """Every stage's function wrapped while inside; ``SPENT`` holds the seconds."""
    saved = [(owner, name, getattr(owner, name)) for owner, name, _ in STAGES]
    run = sqlite_checkpoint.Checkpointer._run
    for (owner, name, stage), (_, _, function) in zip(STAGES, saved, strict=True):
        setattr(owner, name, _timed(stage, function))
    sqlite_checkpoint.Checkpointer._run = _checkpoint_thread(run)  # type: ignore[method-assign]
    SPENT.clear()
    try:
        yield SPENT
    finally:
        for owner, name, function in saved:
            setattr(owner, name, function)
        sqlite_checkpoint.Checkpointer._run = run  # type: ignore[method-assign]


CHECKPOINT = "WAL checkpoint thread (its own CPU)"


def report(events_count: int) -> None:
    """CPU per event of each stage, then what the stages inside another leave to it."""
    per = {stage: spent / events_count * 1e6 for stage, spent in SPENT.items()}

    def get(*names: str) -> float:
        return sum(per.get(name, 0.0) for name in names)

    for stage in [stage for _, _, stage in STAGES] + [CHECKPOINT]:
        print(f"  {stage:42s} {get(stage):6.2f} us/event")
    derived = {
        "insights: counting (handlers, tally)": get("insights: count_events")
        - get("insights: replicas read", "insights: replicas written", "insights: cells upserted"),
        "spans around the batch handler": get("handle (spans + insights)")
        - get("insights: count_events"),
        "authenticity, dead letters": get("admit: decode + authenticity")
        - get("decode + contract validation"),
        "unit of work, freeing the batch, the rest": get("consumer, all of it")
        - get(
            "admit: decode + authenticity",
            "inbox: check ids",
            "handle (spans + insights)",
            "inbox: record ids",
            "SQLite COMMIT (WAL pages written)",
        ),
    }
    for stage, us in derived.items():
        print(f"  = {stage:40s} {us:6.2f} us/event")
