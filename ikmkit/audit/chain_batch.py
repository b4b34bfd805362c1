"""``ChainVerifier``'s batch path: the common case inlined, everything else to ``check``.

A record takes the fast path when it is the next event of a regular stream (1, 2, 3 ...
chained), with plain attributes (ASCII, nothing JSON would escape), a canonical payload the
quick RFC 8785 test vouches for, and no signature keys to check; its contract is then
validated with the batch's other records of the same contract in one call. Anything else,
including every failure, goes through ``check``, which decides exactly and reports.

A partition's batch (``check_partition``, the replay) first tries the chunk path
(``ikmkit.audit.chain_chunk``): the same checks for the whole batch at once, accepted only
if every record passes them; else the batch goes record by record as here. Replay speed
is this work per record (docs/performance.md, "Audit replay").
"""

from __future__ import annotations

import hashlib
from binascii import hexlify
from collections.abc import Callable, Sequence
from datetime import datetime

from pydantic import ValidationError

from contracts import envelope as ce
from contracts.base import Event
from ikmkit.audit.canonical import quick_canonical
from ikmkit.audit.chain_body import KNOWN_CANONS, NEEDS_ESCAPE, chain_fields, plain_chain_body
from ikmkit.audit.chain_chunk import Chunk, commit, verify_chunk
from ikmkit.audit.chain_parts import (
    Checked,
    Stream,
    list_adapter,
    located,
    owned,
    partition_prefix,
    violations,
)
from ikmkit.audit.fetch import LogEntry
from ikmkit.audit.findings import Finding, Kind
from ikmkit.messaging.consumer import Record

_GENESIS = ce.GENESIS_HASH.encode()
_sha256 = hashlib.sha256
_NOT_PLAIN = NEEDS_ESCAPE + bytes(range(0x80, 0x100))
"""Bytes an attribute must not hold for the fast path: JSON escapes, and any non-ASCII."""

SKIP_AFTER_DECLINE = 8
"""Batches that go straight record by record after the chunk path declined one: a log with
damage in every batch would otherwise pay for both paths (~40 % more per record), while
one declined batch now costs ~1/9 of that; a clean log never declines."""

Chains = dict[bytes, bytearray]
"""One topic's compact chains: Kafka key -> 4-byte partition + events' 32-byte digests."""


class BatchChecks:
    """The batch methods of ``ChainVerifier`` (which holds the state declared here)."""

    findings: list[Finding]
    events_checked: int
    _streams: dict[tuple[str, bytes], Stream]
    _chains: dict[str, Chains]
    _chunks_to_skip: int  # batches left to go record by record (``SKIP_AFTER_DECLINE``)
    _public_keys: dict[str, str]
    check: Callable[[Record], Checked]
    _finding: Callable[[Kind, Record, dict[str, bytes], str], Finding]

    def check_all(self, records: Sequence[Record]) -> list[type[Event] | None]:
        """``check`` every record of one partition, all selected; returns their contracts."""
        return self._check_many(records, None)

    def check_partition(
        self, topic: str, partition: int, entries: Sequence[LogEntry]
    ) -> list[type[Event] | None]:
        """``check_all`` of one partition's records as the reader decoded them (offset, key,
        value, headers: ``ikmkit.audit.fetch``); a full record is made only for ``check``."""
        return self._check_many(entries, (topic, partition))

    def _check_many(
        self, records: Sequence[LogEntry], where: tuple[str, int] | None
    ) -> list[type[Event] | None]:
        """``where``: the records' topic and partition, or None if each record has its own."""
        if self._public_keys:
            return [self.check(located(r, where)).model for r in records]
        models: list[type[Event] | None] = []
        unvalidated: dict[type[Event], list[LogEntry]] = {}
        next_event = self._next_event
        if where is None:
            for record in records:
                topic, partition = record.topic, record.partition  # type: ignore[attr-defined]
                chains = self._topic_chains(topic)
                model = next_event(chains, topic, partition, record, unvalidated)
                models.append(model if model is not None else self.check(record).model)  # type: ignore[arg-type]
        else:
            topic, partition = where
            chains = self._topic_chains(topic)
            if self._chunks_to_skip:
                self._chunks_to_skip -= 1
            else:
                chunk = verify_chunk(records, chains, self._streams, topic, owned(topic))
                if chunk is not None:
                    return self._accept(chunk, records, chains, partition, where)
                self._chunks_to_skip = SKIP_AFTER_DECLINE
            for record in records:
                model = next_event(chains, topic, partition, record, unvalidated)
                if model is None:
                    model = self.check(located(record, where)).model
                models.append(model)
        for model, group in unvalidated.items():
            self._validate_together(model, group, where)
        return models

    def _accept(
        self,
        chunk: Chunk,
        records: Sequence[LogEntry],
        chains: Chains,
        partition: int,
        where: tuple[str, int],
    ) -> list[type[Event] | None]:
        """What ``_next_event`` does for each record of a chunk ``verify_chunk`` vouched for:
        digests appended, contracts validated per contract in order of first appearance."""
        self.events_checked += len(records)
        commit(chunk, chains, partition)
        models = chunk.models
        first = models[0]
        if models.count(first) == len(models):
            self._validate_together(first, records, where, chunk.payloads)
        else:
            unvalidated: dict[type[Event], list[LogEntry]] = {}
            for model, record in zip(models, records, strict=True):
                unvalidated.setdefault(model, []).append(record)
            for model, group in unvalidated.items():
                self._validate_together(model, group, where)
        return models  # type: ignore[return-value]

    def _topic_chains(self, topic: str) -> Chains:
        chains = self._chains.get(topic)
        if chains is None:
            chains = self._chains[topic] = {}
        return chains

    def _validate_together(
        self,
        model: type[Event],
        records: Sequence[LogEntry],
        where: tuple[str, int] | None,
        payloads: list[bytes] | None = None,
    ) -> None:
        """Validate chained records against their contract in one call (one pass in Rust).

        Each payload was parsed alone by the canonical check, so it is one JSON value and the
        array's items are exactly the payloads; only if the array fails is each validated
        alone, to report the violations as ``check`` does.
        """
        if payloads is None:
            payloads = [record.value or b"" for record in records]
        try:
            list_adapter(model).validate_json(b"[" + b",".join(payloads) + b"]")
            return
        except ValidationError:
            pass
        for entry, payload in zip(records, payloads, strict=True):
            try:
                model.__pydantic_validator__.validate_json(payload)
            except ValidationError as exc:
                record = located(entry, where)
                raw = dict(record.headers)
                self.findings.append(
                    self._finding(Kind.CONTRACT_VIOLATION, record, raw, violations(exc))
                )

    def _next_event(  # noqa: PLR0912 - inlined: per-record calls are the replay's cost
        self,
        chains: Chains,
        topic: str,
        partition: int,
        record: LogEntry,
        unvalidated: dict[type[Event], list[LogEntry]],
    ) -> type[Event] | None:
        """The fast path: the record's contract if it is chained, None to fall back. A
        canonical payload's contract check is left to ``_validate_together``."""
        fields = chain_fields(record.headers)
        if fields is None:
            return None
        id_, source, subject, time, type_, sequence_bytes, claimed, canon, region = fields
        try:
            model, owners = owned(topic)[type_]
            if source != owners:
                return None  # not its owner's: ``check`` says so
            # bytes.isdigit is ASCII digits only: "+2", " 2", "2_0" parse as int but fall back
            plain = sequence_bytes.lstrip(b"0") if sequence_bytes.isdigit() else b""
            sequence = int(sequence_bytes)
            datetime.fromisoformat(time.decode())
            joined = b"".join((id_, source, subject, time, type_, region or b""))
        except (KeyError, ValueError, TypeError, AttributeError):
            return None
        digests = chains.get(subject)
        if digests is not None:
            if sequence != len(digests) // 32 + 1:  # (4 + 32 n) // 32 == n
                return None
            previous = hexlify(digests[-32:])
        elif sequence == 1 and (topic, subject) not in self._streams:
            previous = _GENESIS
        else:
            return None  # an irregular stream, kept whole: ``check`` decides
        payload = record.value or b""
        if (
            not plain
            or canon not in KNOWN_CANONS
            or record.key != subject
            or len(joined.translate(None, _NOT_PLAIN)) != len(joined)
            or (canon is not None and not quick_canonical(payload))
        ):
            return None  # what the quick check cannot vouch for, ``check`` decides exactly
        hashed = _sha256(previous)
        hashed.update(plain_chain_body(payload, id_, source, subject, time, type_, region, plain))
        digest = hashed.digest()
        if hexlify(digest) != claimed:
            return None
        if canon is None:  # not parsed alone yet: validate it alone
            try:
                model.__pydantic_validator__.validate_json(payload)
            except ValidationError:
                return None
        else:
            unvalidated.setdefault(model, []).append(record)
        self.events_checked += 1
        if digests is None:
            chains[subject] = bytearray(partition_prefix(partition) + digest)
        else:
            digests += digest
        return model
