"""Replay topics from Kafka without touching any consumer group.

The records come from a group-less ``LogReader`` (``ikmkit.audit.reader``), so a replay
of a live system is a consistent snapshot. Filters apply to the event's own ``ce_time``
(the embedded broker's time index is unreliable, so there is no
``offsets_for_times``): every record is read and verified, because a stream's
hash chain needs its predecessors, and only selected events are reported.
"""

from __future__ import annotations

import asyncio
import functools
import multiprocessing
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from aiokafka import TopicPartition

from contracts import envelope as ce
from contracts.base import Event
from ikmkit.audit.chain import ChainVerifier, Checked
from ikmkit.audit.chain_parts import located
from ikmkit.audit.chain_view import LogView
from ikmkit.audit.fetch import LogEntry
from ikmkit.audit.findings import Finding
from ikmkit.audit.heads import OutboxHeads
from ikmkit.audit.published import (
    LogStream,
    PublishedSummary,
    compare_published,
    wanted_sequences,
)
from ikmkit.audit.reader import LogReader
from ikmkit.audit.selection import Selection
from ikmkit.collector import collector_paused

DEFAULT_WORKERS = 3
"""Processes ``ikm audit replay`` shares a large log between: this one and two workers
(bench/audit.py measures it; 3 shards also balance the platform's 3-partition topics)."""

PARALLEL_FROM = 100_000
"""Below this many records one process is as fast: starting the workers costs ~0.5-2 s."""

CHUNK = 100
"""Records verified between two yields to the event loop (keeps fetching overlapped)."""

Progress = Callable[[int, int], None]
"""(records read so far, records to read in total)"""


@dataclass
class ReplayResult:
    topics: list[str]
    selection: Selection
    read: int = 0
    selected: int = 0
    seconds: float = 0.0
    streams: int = 0
    by_topic: Counter[str] = field(default_factory=Counter)
    by_type: Counter[str] = field(default_factory=Counter)
    findings: list[Finding] = field(default_factory=list)
    events: list[Checked] = field(default_factory=list)
    log_streams: Mapping[tuple[str, str], LogStream] = field(default_factory=dict)
    published: PublishedSummary | None = None  # the log against the outboxes, if given

    @property
    def events_per_second(self) -> float:
        return self.read / self.seconds if self.seconds > 0 else 0.0

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]


async def replay(
    bootstrap_servers: str,
    topics: Sequence[str] | None = None,
    selection: Selection | None = None,
    *,
    verifier: ChainVerifier | None = None,
    public_keys: dict[str, str] | None = None,
    collect: bool = False,
    progress: Progress | None = None,
    workers: int = 1,
    outbox: OutboxHeads | None = None,
) -> ReplayResult:
    """Read, decode, validate and chain-check every record; report on the selected ones.

    ``workers > 1`` splits the partitions between that many processes, this one and
    ``workers - 1`` worker processes (a stream lives in one partition, so each chain is
    still checked whole by one process); it applies when events are not collected and no
    ``verifier`` is given.

    ``outbox``: the services' stream heads, read *before* the log (whatever they say was
    published is on the log by then): every stream of the chosen topics and aggregates is
    also checked against them (``ikmkit.audit.published``).
    """
    selection = selection or Selection()
    subjects = {s.decode() for s in selection.keys()}  # noqa: SIM118 - not a dict
    wanted = None if outbox is None else wanted_sequences(outbox, topics, subjects)
    if workers > 1 and not collect and verifier is None:
        result = await _replay_parallel(
            bootstrap_servers, topics, selection, public_keys, workers, progress, wanted
        )
    else:
        verifier = verifier or _verifier(public_keys)
        result = await _replay_once(
            bootstrap_servers, topics, selection, verifier, collect, progress, wanted=wanted
        )
    if outbox is not None:
        found, result.published = compare_published(
            outbox, result.log_streams, topics=topics, subjects=subjects
        )
        result.findings += found
    return result


async def records_in(bootstrap_servers: str, topics: Sequence[str] | None = None) -> int:
    """How many records the topics hold, as the broker reports it (a lower bound)."""
    reader = LogReader(bootstrap_servers, topics)
    await reader.open()
    await reader.close()
    return reader.total


def _verifier(public_keys: dict[str, str] | None) -> ChainVerifier:
    if not public_keys:
        return ChainVerifier()
    from ikmkit.messaging.signing import verify_signature

    return ChainVerifier(public_keys=public_keys, verify_signature=verify_signature)


async def _replay_once(
    bootstrap_servers: str,
    topics: Sequence[str] | None,
    selection: Selection,
    verifier: ChainVerifier,
    collect: bool,
    progress: Progress | None,
    shard: tuple[int, int] | None = None,
    wanted: Mapping[tuple[str, str], int] | None = None,
) -> ReplayResult:
    reader = LogReader(bootstrap_servers, topics, shard=shard)
    started = time.perf_counter()
    await reader.open()
    result = ReplayResult(topics=reader.topics, selection=selection)
    try:
        with collector_paused():
            async for tp, batch in reader.entries():
                for start in range(0, len(batch), CHUNK):
                    chunk = batch[start : start + CHUNK]
                    _verify_batch(tp, chunk, selection, verifier, result, collect)
                    # Loop turns send the next fetch and read its answer meanwhile.
                    await asyncio.sleep(0)
                if progress is not None:
                    progress(result.read, reader.total)
    finally:
        await reader.close()
    result.findings = verifier.finish(reader.truncated)
    result.streams = verifier.streams
    if wanted is not None:
        result.log_streams = verifier.log_view(wanted)
    result.seconds = time.perf_counter() - started
    return result


_shared_progress: tuple[Any, Any] | None = None


def _init_worker(done: Any, total: Any) -> None:
    global _shared_progress  # noqa: PLW0603 - one replay shard per worker process
    _shared_progress = (done, total)


def _run_shard(
    bootstrap_servers: str,
    topics: Sequence[str] | None,
    selection: Selection,
    public_keys: dict[str, str] | None,
    shard: tuple[int, int],
    wanted: Mapping[tuple[str, str], int] | None = None,
) -> ReplayResult:
    """One worker process: replay every ``shard[1]``-th partition from ``shard[0]``."""
    seen = [0, 0]

    def report(done: int, total: int) -> None:
        if _shared_progress is None:
            return
        shared_done, shared_total = _shared_progress
        with shared_done.get_lock():
            shared_done.value += done - seen[0]
        with shared_total.get_lock():
            shared_total.value += total - seen[1]
        seen[0], seen[1] = done, total

    return asyncio.run(
        _replay_once(
            bootstrap_servers,
            topics,
            selection,
            _verifier(public_keys),
            False,
            report,
            shard,
            wanted,
        )
    )


async def _replay_parallel(
    bootstrap_servers: str,
    topics: Sequence[str] | None,
    selection: Selection,
    public_keys: dict[str, str] | None,
    workers: int,
    progress: Progress | None,
    wanted: Mapping[tuple[str, str], int] | None = None,
) -> ReplayResult:
    # forkserver: workers fork from a clean, single-threaded server with the audit
    # modules already imported (no fork of this possibly threaded process, fast start).
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["ikmkit.audit.replay"])
    done, total = context.Value("q", 0), context.Value("q", 0)
    loop = asyncio.get_running_loop()
    started = time.perf_counter()
    own = [0, 0]  # this process's shard: records read, records to read

    def report(read: int, of: int) -> None:
        own[0], own[1] = read, of

    with ProcessPoolExecutor(
        workers - 1, mp_context=context, initializer=_init_worker, initargs=(done, total)
    ) as pool:
        shard = functools.partial(_run_shard, bootstrap_servers, topics, selection, public_keys)
        shards = [
            loop.run_in_executor(pool, shard, (i, workers), wanted) for i in range(1, workers)
        ]
        # This process verifies the first shard meanwhile instead of only waiting.
        verifier = _verifier(public_keys)
        mine = asyncio.ensure_future(
            _replay_once(
                bootstrap_servers, topics, selection, verifier, False, report, (0, workers), wanted
            )
        )
        try:
            await _wait_reporting_progress([mine, *shards], progress, done, total, own)
        finally:
            mine.cancel()  # only if this wait was interrupted (done, it is a no-op)
        parts = [part.result() for part in (mine, *shards)]
    merged = _merge_shards(parts, selection, wanted)
    merged.seconds = time.perf_counter() - started
    return merged


async def _wait_reporting_progress(
    shards: list[asyncio.Future[ReplayResult]],
    progress: Progress | None,
    done: Any,
    total: Any,
    own: list[int],
) -> None:
    """Wait for every shard; ``done`` and ``total`` are the counters the workers share,
    ``own`` this process's (read, to read)."""
    pending: set[asyncio.Future[ReplayResult]] = set(shards)
    while pending:
        _, pending = await asyncio.wait(pending, timeout=0.2)
        if progress is not None:
            progress(done.value + own[0], total.value + own[1])


def _merge_shards(
    parts: list[ReplayResult],
    selection: Selection,
    wanted: Mapping[tuple[str, str], int] | None = None,
) -> ReplayResult:
    """One result from the shards' results (without ``seconds``: the caller timed the whole)."""
    merged = ReplayResult(
        topics=sorted({t for part in parts for t in part.topics}), selection=selection
    )
    views = [part.log_streams for part in parts if isinstance(part.log_streams, LogView)]
    for part in parts:
        merged.read += part.read
        merged.selected += part.selected
        merged.streams += part.streams
        merged.by_topic.update(part.by_topic)
        merged.by_type.update(part.by_type)
        merged.findings += part.findings
    if wanted is not None:
        merged.log_streams = LogView.merged(views, wanted)
    return merged


def _verify_batch(
    tp: TopicPartition,
    batch: list[LogEntry],
    selection: Selection,
    verifier: ChainVerifier,
    result: ReplayResult,
    collect: bool,
) -> None:
    """Check one partition's batch; per-record work is only the verifier's."""
    result.read += len(batch)
    if not batch:
        return
    topic = tp.topic
    selects = selection.selects if selection != Selection() else True
    models: list[type[Event] | None] = []
    if selects is True and not collect:
        models = verifier.check_partition(topic, tp.partition, batch)
    else:
        if selection.aggregate is not None or selection.subjects:
            # by key (the chosen streams) or by subject: an event about a chosen aggregate
            # under another key is a finding of that aggregate's too (``key_mismatch``)
            keys = selection.keys()
            batch = [r for r in batch if r.key in keys or _subject(r.headers) in keys]
        where = (topic, tp.partition)
        for entry in batch:
            checked = verifier.check(located(entry, where), selected=selects)
            if checked.selected:
                models.append(checked.model)
                if collect:
                    result.events.append(checked)
    result.selected += len(models)
    if models:
        result.by_topic[topic] += len(models)
    for model, count in Counter(models).items():
        result.by_type[model.__name__ if model else "<unknown>"] += count


def _subject(headers: Sequence[tuple[str, bytes]]) -> bytes | None:
    for name, value in headers:
        if name == ce.H_SUBJECT:
            return value
    return None
