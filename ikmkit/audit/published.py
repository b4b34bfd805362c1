"""Does the log hold everything the outboxes say was published? (pure, no I/O)

Per aggregate stream the outbox's published head (``ikmkit.audit.heads``) is compared
with the stream as read from the log:

- ``missing`` (error): the log ends before the published head (or holds nothing of the
  stream): that many acknowledged events are not on the log;
- ``head_mismatch`` (error): the log holds the outbox's head sequence with another hash;
- ``not_in_outbox`` (error): a stream on a topic whose producer answered, unknown to its
  outbox (forged, or the producer's store lost data);
- ``unsent`` (warning): the stream's last events are still in the relay's backlog; the
  log is only checked up to the published head, and the hash is compared once the relay
  has published the head.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ikmkit.audit.findings import Finding, Kind
from ikmkit.audit.heads import OutboxHeads, StreamHead

StreamKey = tuple[str, str]


@dataclass(frozen=True, slots=True)
class LogStream:
    """A stream as read from the log: its partition, last sequence and some of its hashes."""

    partition: int
    last: int
    hash_at: dict[int, str]


@dataclass
class PublishedSummary:
    """Per topic: events the outboxes published, how many the log lacks, streams compared."""

    sources: dict[str, str] = field(default_factory=dict)
    topics: list[str] = field(default_factory=list)
    streams: int = 0
    published: Counter[str] = field(default_factory=Counter)
    on_log: Counter[str] = field(default_factory=Counter)
    missing: Counter[str] = field(default_factory=Counter)
    unsent: Counter[str] = field(default_factory=Counter)

    @property
    def missing_total(self) -> int:
        return sum(self.missing.values())

    def as_json(self) -> dict[str, Any]:
        return {
            "sources": self.sources,
            "topics": self.topics,
            "streams": self.streams,
            "published": sum(self.published.values()),
            "missing": self.missing_total,
            "unsent": sum(self.unsent.values()),
            "by_topic": {
                topic: {
                    "published": self.published[topic],
                    "on_log": self.on_log[topic],
                    "missing": self.missing[topic],
                    "unsent": self.unsent[topic],
                }
                for topic in self.topics
            },
        }


class WantedSequences(Mapping[StreamKey, int]):
    """The head sequence of every stream to compare (the log's hash there is needed), read
    from the outbox heads on lookup rather than copied (one per aggregate of the platform)."""

    def __init__(
        self, outbox: OutboxHeads, topics: Collection[str] | None, subjects: Collection[str]
    ) -> None:
        self._heads = outbox.streams
        self._topics = None if topics is None else frozenset(topics)
        self._subjects = frozenset(subjects)

    def _chosen(self, key: StreamKey) -> bool:
        return (self._topics is None or key[0] in self._topics) and (
            not self._subjects or key[1] in self._subjects
        )

    def __getitem__(self, key: StreamKey) -> int:
        if not self._chosen(key):
            raise KeyError(key)
        return self._heads[key].sequence

    def __contains__(self, key: object) -> bool:
        return isinstance(key, tuple) and key in self._heads and self._chosen(key)

    def __iter__(self) -> Iterator[StreamKey]:
        return (key for key in self._heads if self._chosen(key))

    def __len__(self) -> int:
        return sum(1 for _ in self)


def wanted_sequences(
    outbox: OutboxHeads, topics: Collection[str] | None, subjects: Collection[str]
) -> Mapping[StreamKey, int]:
    """The head sequence of every stream to compare (the log's hash there is needed)."""
    return WantedSequences(outbox, topics, subjects)


def _chosen(
    outbox: OutboxHeads, topics: Collection[str] | None, subjects: Collection[str]
) -> Iterator[tuple[StreamKey, StreamHead]]:
    """The chosen streams' heads in key order, made one at a time (keys sorted, not heads)."""
    for key in sorted(WantedSequences(outbox, topics, subjects)):
        yield key, outbox.streams[key]


def compare_published(
    outbox: OutboxHeads,
    log: Mapping[StreamKey, LogStream],
    *,
    topics: Collection[str] | None = None,
    subjects: Collection[str] = (),
) -> tuple[list[Finding], PublishedSummary]:
    """Findings and per-topic counts; ``topics``/``subjects`` narrow the comparison."""
    summary = PublishedSummary(sources=dict(outbox.sources))
    covered = {t for t in outbox.topics if topics is None or t in topics}
    findings: list[Finding] = []
    for key, head in _chosen(outbox, topics, subjects):
        covered.add(key[0])
        summary.streams += 1
        findings += _compare_stream(head, log.get(key), summary)
    # Keys first, then only the streams unknown to the outboxes (``log`` may make each on access).
    unknown = sorted(key for key in log if key[0] in covered and key not in outbox.streams)
    for topic, subject in unknown:
        if subjects and subject not in subjects:
            continue
        stream = log[(topic, subject)]
        detail = (
            f"on the log (sequences up to {stream.last}) but unknown to the outbox of the "
            "topic's producer: forged, or the producer's store lost it"
        )
        findings.append(_finding(Kind.NOT_IN_OUTBOX, topic, subject, 1, detail, stream))
    summary.topics = sorted(covered)
    return findings, summary


def _compare_stream(
    head: StreamHead, stream: LogStream | None, summary: PublishedSummary
) -> list[Finding]:
    topic, subject, published = head.topic, head.aggregate, head.published
    last = stream.last if stream is not None else 0
    summary.published[topic] += published
    summary.on_log[topic] += min(last, published)
    summary.unsent[topic] += head.unsent
    if last < published:
        summary.missing[topic] += published - last
        held = f"the log holds up to {last}" if last else "the log holds none of it"
        detail = (
            f"{published - last} published events missing from the log from sequence "
            f"{last + 1}: the outbox published up to {published}, {held}"
        )
        return [_finding(Kind.MISSING, topic, subject, last + 1, detail, stream)]
    if last >= head.sequence:
        logged = stream.hash_at.get(head.sequence) if stream is not None else None
        if logged is not None and logged != head.hash:
            detail = (
                f"the log's event {head.sequence} has hash {logged[:12]}..., the outbox "
                f"committed {head.hash[:12]}..."
            )
            return [_finding(Kind.HEAD_MISMATCH, topic, subject, head.sequence, detail, stream)]
        return []
    detail = (
        f"{head.unsent} events not yet published by the relay (sequences {published + 1}-"
        f"{head.sequence}); the log holds up to {last}; the head hash is compared once they are"
    )
    return [_finding(Kind.UNSENT, topic, subject, published + 1, detail, stream)]


def _finding(
    kind: Kind, topic: str, subject: str, sequence: int, detail: str, stream: LogStream | None
) -> Finding:
    partition = stream.partition if stream is not None else -1
    return Finding(kind, topic, partition, -1, subject, sequence, None, None, detail)
