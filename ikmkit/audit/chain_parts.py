"""The records and streams ``ikmkit.audit.chain`` keeps, and its contract-check helpers."""

from __future__ import annotations

import functools
from binascii import hexlify
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from pydantic import TypeAdapter, ValidationError

from contracts.base import Event
from contracts.catalog import EVENTS_BY_TYPE, events_on, owner_of
from contracts.topics import source_of
from ikmkit.audit.chain_body import headers_text
from ikmkit.audit.fetch import LogEntry
from ikmkit.audit.findings import Finding, Kind, ranges
from ikmkit.messaging.consumer import Record


@dataclass(frozen=True, slots=True)
class LogRecord:
    """A record the reader decoded, with its topic and partition: what ``check`` and the
    findings read (``Record``)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes]]


def located(entry: LogEntry, where: tuple[str, int] | None) -> Record:
    """``entry`` as a ``Record``: itself if it is one (``where`` None), else with ``where``'s
    topic and partition."""
    if where is None:
        return entry  # type: ignore[return-value]
    return LogRecord(*where, entry.offset, entry.key, entry.value, entry.headers)


@dataclass(slots=True)
class Checked:
    """One record as the verifier saw it (``model`` is None if it could not be decoded)."""

    record: Record
    raw: dict[str, bytes]
    model: type[Event] | None
    time: datetime | None
    sequence: int | None
    ok: bool = True
    selected: bool = True
    _headers: dict[str, str] | None = None

    @property
    def headers(self) -> dict[str, str]:
        """The headers as text (decoded on first use: most records never need it)."""
        if self._headers is None:
            self._headers = headers_text(self.raw)
        return self._headers


@dataclass(slots=True)
class Stream:
    topic: str
    subject: str
    partition: int = 0
    max_sequence: int = 0
    hashes: dict[int, bytes] = field(default_factory=dict)
    # events whose predecessor has not been seen yet: sequence -> (payload, offset, headers)
    pending: dict[int, tuple[bytes, int, dict[str, bytes]]] = field(default_factory=dict)
    selected: bool = False


def partition_prefix(partition: int) -> bytes:
    """A compact chain starts with its partition (4 bytes), then its events' 32-byte digests."""
    return partition.to_bytes(4, "big")


def partition_of(digests: bytearray) -> int:
    return int.from_bytes(digests[:4], "big")


def hex_at(digests: bytearray, sequence: int) -> str:
    """The ce_hash of event ``sequence`` (1-based) of a compact chain."""
    start = 4 + 32 * (sequence - 1)
    return hexlify(digests[start : start + 32]).decode()


def hex_hashes(digests: bytearray) -> dict[int, bytes]:
    """Every ce_hash of a compact chain, as ``Stream.hashes`` keeps them."""
    return {
        n: hexlify(digests[4 + 32 * (n - 1) : 4 + 32 * n]) for n in range(1, len(digests) // 32 + 1)
    }


def violations(exc: ValidationError) -> str:
    # Locations and messages only: pydantic's input values may be personal data.
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}"
        for err in exc.errors(include_input=False, include_url=False)
    )


Contracts = dict[bytes, tuple[type[Event], bytes]]
"""``ce_type`` -> (its contract, the ``ce_source`` its events must have) on one topic."""


@functools.cache
def owned(topic: str) -> Contracts:
    """What the fast paths may vouch for on ``topic``: its own types from its owner; on a
    topic no contract names, every type from the type's owner (``misattributed``'s rule)."""
    owner = owner_of(topic)
    models = EVENTS_BY_TYPE.values() if owner is None else events_on(topic)
    return {
        m.ce_type().encode(): (m, source_of(owner or owner_of(m.TOPIC) or "").encode())
        for m in models
    }


def signer_of(topic: str, model: type[Event] | None, source: bytes) -> str:
    """The ``ce_source`` whose public key checks an event of ``model`` read from ``topic``:
    the topic's owner's, else its type's owner's; the event's own only when neither is
    known (a key follows the topic, never the source an event claims)."""
    owner = owner_of(topic) or (None if model is None else owner_of(model.TOPIC))
    return source.decode("utf-8", "replace") if owner is None else source_of(owner)


@functools.cache
def list_adapter(model: type[Event]) -> TypeAdapter[list[Event]]:
    return TypeAdapter(list[model])  # type: ignore[valid-type]


def gaps(stream: Stream, truncated: bool) -> list[Finding]:
    """What is missing from ``stream`` once the whole log was read; with ``truncated`` (its
    partition no longer starts at offset 0) a missing 1..n before the first event retained is
    retention (``truncated``), not a gap."""
    missing = sorted(set(range(1, stream.max_sequence + 1)) - set(stream.hashes))
    found = []
    if truncated and missing and missing[0] == 1:
        first = min(stream.hashes)
        detail = f"sequence numbers 1-{first - 1} are past retention"
        found.append(_stream_finding(Kind.TRUNCATED, stream, 1, detail))
        missing = [n for n in missing if n > first]
    if missing:
        detail = f"missing sequence numbers {ranges(missing)} of 1..{stream.max_sequence}"
        found.append(_stream_finding(Kind.GAP, stream, missing[0], detail))
    return found


def _stream_finding(kind: Kind, stream: Stream, sequence: int, detail: str) -> Finding:
    return Finding(
        kind, stream.topic, stream.partition, -1, stream.subject, sequence, None, None, detail
    )
