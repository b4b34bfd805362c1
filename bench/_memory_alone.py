"""What a consumer keeps as it goes: one service's real ``EventConsumer`` (batch path, its
``max_records``, as ``main.py`` wires it) fed N enterprises' events on a SQLite file, with the
process's RSS, Python's traced memory and SQLite's own allocator read at each quarter:

    python -m bench._memory_alone insights --enterprises 20000 [--top 15]

What grows between the quarters is what the consumer would keep at campaign size; ``--top``
prints the allocations that grew most between the first quarter and the end (by traceback).
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import ctypes.util
import gc
import inspect
import resource
import tempfile
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from bench._insights_enterprises import Enterprises, Envelopes
from bench.common import embedded_clients
from ikmkit.messaging.inbox import INBOX_COLLECTIONS
from ikmkit.messaging.outbox import Outbox
from ikmkit.store.sqlite import SqliteStore
from tests.support.records import NoDeadLetters, Record

_SQLITE = ctypes.CDLL(ctypes.util.find_library("sqlite3") or "libsqlite3.so.0")
_SQLITE.sqlite3_memory_used.restype = ctypes.c_int64


class _Runtime:
    publisher = NoDeadLetters()


def _service(name: str) -> tuple[Any, int, Callable[[SqliteStore], Any]]:
    """(collections, max_records, build consumer) of a service, as its ``main.py`` has them."""
    if name == "insights":
        from ikmkit.unit_of_work import Units
        from services.insights import consumers as ic
        from services.insights.store import COLLECTIONS as IC
        from services.insights.store import InsightsUnit

        def insights(store: SqliteStore) -> Any:
            deps = type("D", (), {"units": Units(store, Outbox("insights"), InsightsUnit)})
            return ic.build_consumer(deps, _Runtime())  # type: ignore[arg-type]

        return IC, 5000, insights
    if name == "subsidy":
        from services.subsidy import bootstrap as sb
        from services.subsidy import consumers as sc
        from services.subsidy.settings import SubsidySettings
        from services.subsidy.store import COLLECTIONS as SC

        def subsidy(store: SqliteStore) -> Any:
            deps = sb.bootstrap(store, Outbox("subsidy"), SubsidySettings())
            return sc.build_consumer(deps, _Runtime())  # type: ignore[arg-type]

        return SC, 500, subsidy
    from services.training import bootstrap as tb
    from services.training import consumers as tc
    from services.training.settings import TrainingSettings
    from services.training.store import COLLECTIONS as TC

    def training(store: SqliteStore) -> Any:
        deps = tb.bootstrap(store, Outbox("training"), TrainingSettings())
        return tc.build_consumer(deps, _Runtime())  # type: ignore[arg-type]

    return TC, 500, training


def _batches(n: int, size: int) -> Iterator[tuple[int, list[Record]]]:
    """(enterprises so far, a batch of records): generated as they are consumed."""
    enterprises, feed, batch, offset = Enterprises.generate(n), Envelopes(), [], 0
    for i in range(n):
        for event in enterprises.events(i):
            batch.append(Record(*_record(feed, event, offset)))
            offset += 1
        if len(batch) >= size:
            yield i + 1, batch
            batch = []
    yield n, batch


def _record(feed: Envelopes, event: Any, offset: int) -> tuple[Any, ...]:
    topic, key, value, headers = feed.record(event)
    return topic, 0, offset, key, value, headers


def _rss_mb() -> tuple[float, float]:
    status = Path("/proc/self/status").read_text().splitlines()
    kb = {line.split(":")[0]: int(line.split()[1]) for line in status if line.startswith("Vm")}
    return kb["VmRSS"] / 1024, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _ours(snapshot: tracemalloc.Snapshot) -> tracemalloc.Snapshot:
    # the bench's own generator and envelope feed grow with N by design; not the consumer's
    lines, first = inspect.getsourcelines(_batches)
    return snapshot.filter_traces(
        [
            tracemalloc.Filter(False, __file__, lineno=n, all_frames=True)
            for n in range(first, first + len(lines))
        ]
    )


async def run(service: str, n: int, top: int) -> None:
    collections, max_records, build = _service(service)
    if top:  # tracing costs memory and time of its own: RSS figures are taken without it
        tracemalloc.start(12)
    marks, first, last = {n * q // 4 for q in (1, 2, 3, 4)}, None, None
    with tempfile.TemporaryDirectory() as workdir:
        store = SqliteStore(Path(workdir) / "alone.db")
        await store.open([*collections, *INBOX_COLLECTIONS])
        consumer = build(store)
        for done, batch in _batches(n, max_records):
            if batch:
                await consumer.process(batch)
            if done >= min(marks, default=n + 1):
                marks = {m for m in marks if m > done}
                gc.collect()
                snap = _ours(tracemalloc.take_snapshot()) if top else None
                traced = sum(s.size for s in snap.statistics("filename")) / 2**20 if snap else 0
                rss, peak = _rss_mb()
                print(
                    f"{service} {done:>8,} enterprises: RSS {rss:6.1f} MB (peak {peak:6.1f}),"
                    f" python traced {traced:6.1f} MB,"
                    f" sqlite {_SQLITE.sqlite3_memory_used() / 2**20:6.1f} MB",
                    flush=True,
                )
                first, last = first or snap, snap
        await store.close()
    if top and first is not None and last is not None:
        for stat in last.compare_to(first, "traceback")[:top]:
            print(f"{stat.size_diff / 2**20:+8.2f} MB {stat.count_diff:+8d} blocks")
            for line in stat.traceback.format()[-12:]:
                print("    " + line)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("service", choices=("insights", "subsidy", "training"))
    parser.add_argument("--enterprises", type=int, default=20_000)
    parser.add_argument("--top", type=int, default=0)
    args = parser.parse_args()
    asyncio.run(run(args.service, args.enterprises, args.top))


if __name__ == "__main__":
    embedded_clients()
    main()
