"""The streams a ``ChainVerifier`` read, as ``ikmkit.audit.published`` compares them with the
outboxes: each ``LogStream`` is made when it is looked up, not all at once (an audit of the
whole platform reads millions of streams; holding a ``LogStream`` for each doubled what the
verifier itself keeps)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from ikmkit.audit.chain_parts import Stream, hex_at, partition_of
from ikmkit.audit.published import LogStream

StreamKey = tuple[str, str]


class LogView(Mapping[StreamKey, LogStream]):
    """(topic, subject) -> the stream as read: last sequence, hashes at it and at ``wanted``."""

    def __init__(
        self,
        streams: dict[tuple[str, bytes], Stream],
        chains: dict[str, dict[bytes, bytearray]],
        wanted: Mapping[StreamKey, int],
    ) -> None:
        self._streams = streams
        self._chains = chains
        self._wanted = wanted
        self._by_text: dict[StreamKey, Stream] | None = None

    @classmethod
    def merged(cls, views: list[LogView], wanted: Mapping[StreamKey, int]) -> LogView:
        """One view of the shards' streams (a replay's workers read disjoint partitions)."""
        streams: dict[tuple[str, bytes], Stream] = {}
        chains: dict[str, dict[bytes, bytearray]] = {}
        for view in views:
            streams.update(view._streams)
            for topic, compact in view._chains.items():
                chains.setdefault(topic, {}).update(compact)
        return cls(streams, chains, wanted)

    def __reduce__(self) -> tuple[type[LogView], tuple[object, ...]]:
        # A worker sends its chains, not a LogStream per stream; the parent knows ``wanted``.
        return LogView, (self._streams, self._chains, {})

    def __getitem__(self, key: StreamKey) -> LogStream:
        topic, subject = key
        # Compact chains' keys are ASCII (the fast path takes no other), so they encode back.
        digests = self._chains.get(topic, {}).get(subject.encode("utf-8", "replace"))
        if digests is not None:
            last = len(digests) // 32
            at = {last, self._wanted.get(key, last)}
            hashes = {n: hex_at(digests, n) for n in at if 1 <= n <= last}
            return LogStream(partition_of(digests), last, hashes)
        stream = self._whole().get(key)
        if stream is None:
            raise KeyError(key)
        at = {stream.max_sequence, self._wanted.get(key, stream.max_sequence)}
        hashes = {n: stream.hashes[n].decode() for n in at if n in stream.hashes}
        return LogStream(stream.partition, stream.max_sequence, hashes)

    def _whole(self) -> dict[StreamKey, Stream]:
        """The streams kept whole, by their subject as text (streams with an anomaly: few)."""
        if self._by_text is None:
            self._by_text = {
                (s.topic, s.subject): s for s in self._streams.values() if s.max_sequence
            }
        return self._by_text

    def __iter__(self) -> Iterator[StreamKey]:
        yield from self._whole()
        for topic, chains in self._chains.items():
            for subject in chains:
                yield topic, subject.decode("utf-8", "replace")

    def __len__(self) -> int:
        return len(self._whole()) + sum(len(chains) for chains in self._chains.values())
