"""Checks a stream of Kafka records against the contracts and each aggregate's hash chain.

Pure (no I/O): ``ChainVerifier.check`` takes records in partition order and
returns what it learnt about each; ``finish`` reports what only the whole
stream reveals (gaps, events whose predecessor never arrived).

A stream is one aggregate on one topic (``topic`` + ``ce_subject``, which is
also the Kafka key, so a stream lives in one partition and is read in order).
Per stream the verifier expects ``ce_sequence`` 1, 2, 3 ... and
``ce_hash[n] == sha256(ce_hash[n-1] + canonical JSON of event n)``
(``contracts.chain``, either canonical form; the first event's predecessor is
``GENESIS_HASH``). Each event is checked against the hash its predecessor
*claims*, so one altered payload is one finding, not a cascade. An attacker who
rewrites an event *and* recomputes its hash breaks the link to the next event,
which is then flagged; only the very last event of a stream can be rewritten
undetectably without signatures, which is what ``ce_signature`` is for.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime

from pydantic import ValidationError

from contracts import envelope as ce
from contracts.base import Event
from contracts.catalog import EVENTS_BY_TYPE, misattributed
from contracts.chain import link_holds, signed_message
from ikmkit.audit.chain_batch import BatchChecks
from ikmkit.audit.chain_body import (
    fast_chain_body,
    headers_text,
)
from ikmkit.audit.chain_parts import (
    Checked,
    Stream,
    gaps,
    hex_hashes,
    partition_of,
    signer_of,
    violations,
)
from ikmkit.audit.chain_view import LogView
from ikmkit.audit.findings import Finding, Kind
from ikmkit.audit.published import LogStream
from ikmkit.messaging.consumer import Record

__all__ = ["ChainVerifier", "Checked", "SignatureCheck"]

SignatureCheck = Callable[[str, str, str], bool]
"""(public key, signed text, signature) -> valid? The text is ``contracts.chain.signed_message``."""

_GENESIS = ce.GENESIS_HASH.encode()
_sha256 = hashlib.sha256
_MODELS: dict[bytes, type[Event]] = {t.encode(): m for t, m in EVENTS_BY_TYPE.items()}
_REQUIRED = (ce.H_ID, ce.H_TYPE, ce.H_SOURCE, ce.H_TIME, ce.H_SUBJECT)
_REQUIRED_SET = frozenset(_REQUIRED)


class ChainVerifier(BatchChecks):
    """Verifies records one by one; collects findings per stream."""

    def __init__(
        self,
        *,
        public_keys: dict[str, str] | None = None,
        verify_signature: SignatureCheck | None = None,
    ) -> None:
        self.findings: list[Finding] = []
        # Streams with an anomaly (or met through ``check``), kept whole: every hash, pending.
        self._streams: dict[tuple[str, bytes], Stream] = {}
        # Regular streams (1, 2, 3 ... chained, as ``check_all``'s fast path saw them), compact:
        # topic -> Kafka key -> 4-byte partition + the 32-byte digests of events 1..n. Every
        # digest is kept (a later copy of any event is a duplicate or a conflict by it).
        self._chains: dict[str, dict[bytes, bytearray]] = {}
        self._public_keys = public_keys or {}
        self._verify_signature = verify_signature
        self.events_checked = 0
        self._chunks_to_skip = 0

    def check(
        self, record: Record, *, selected: bool | Callable[[Checked], bool] = True
    ) -> Checked:
        """Verify one record; findings are kept only for selected records.

        ``selected`` may be a predicate on the decoded record; a stream's gaps are
        reported only if at least one of its records was selected.
        """
        self.events_checked += 1
        raw = dict(record.headers)
        problems: list[Finding] = []
        checked = self._check_contract(record, raw, problems)
        if selected is not True and selected is not False:
            selected = selected(checked)
        sequence = checked.sequence
        subject = raw.get(ce.H_SUBJECT)
        if subject is not None and record.key != subject:
            detail = (
                "the Kafka key is not the aggregate id: its events may be split across partitions"
            )
            problems.append(self._finding(Kind.KEY_MISMATCH, record, raw, detail))
        if checked.time is not None:  # decoded: as consumers hear it, only from its owner
            source = raw[ce.H_SOURCE].decode("utf-8", "replace")
            wrong = misattributed(record.topic, checked.model, source)
            if wrong is not None:
                problems.append(self._finding(Kind.FORGED, record, raw, wrong))
        if sequence is None or raw.get(ce.H_HASH) is None:
            if checked.model is not None:
                detail = "no ce_sequence/ce_hash"
                problems.append(self._finding(Kind.UNCHAINED, record, raw, detail))
        else:
            self._check_chain(record, raw, sequence, problems, selected, checked.model)
        if problems:
            checked.ok = False
            if selected:
                self.findings += problems
        checked.selected = selected
        return checked

    def _check_contract(
        self, record: Record, raw: dict[str, bytes], problems: list[Finding]
    ) -> Checked:
        if not raw.keys() >= _REQUIRED_SET or None in raw.values():
            missing = [h for h in _REQUIRED if raw.get(h) is None]
            if missing:
                problems.append(self._finding(Kind.UNDECODABLE, record, raw, f"missing {missing}"))
                return Checked(record, raw, None, None, None)
        try:
            time = datetime.fromisoformat(raw[ce.H_TIME].decode())
            sequence_header = raw.get(ce.H_SEQUENCE)
            sequence = None if sequence_header is None else int(sequence_header)
        except (ValueError, UnicodeDecodeError) as exc:
            problems.append(self._finding(Kind.UNDECODABLE, record, raw, str(exc)))
            return Checked(record, raw, None, None, None)
        model = _MODELS.get(raw[ce.H_TYPE])
        if model is None:
            problems.append(self._finding(Kind.UNKNOWN_TYPE, record, raw, "no contract"))
            return Checked(record, raw, None, time, sequence)
        try:
            model.__pydantic_validator__.validate_json(record.value or b"")
        except ValidationError as exc:
            problems.append(self._finding(Kind.CONTRACT_VIOLATION, record, raw, violations(exc)))
        return Checked(record, raw, model, time, sequence)

    def _check_chain(
        self,
        record: Record,
        raw: dict[str, bytes],
        sequence: int,
        problems: list[Finding],
        selected: bool,
        model: type[Event] | None,
    ) -> None:
        stream = self._stream(record.topic, raw[ce.H_SUBJECT], record.partition)
        if selected:
            stream.selected = True
        claimed = raw[ce.H_HASH]
        hashes = stream.hashes
        known = hashes.get(sequence)
        if known is not None:
            problems.append(self._second(record, raw, stream, sequence, same=known == claimed))
            return
        if sequence < stream.max_sequence:
            detail = f"sequence {sequence} after {stream.max_sequence}"
            problems.append(self._finding(Kind.REORDERED, record, raw, detail))
        else:
            stream.max_sequence = sequence
        hashes[sequence] = claimed
        payload = record.value or b""
        previous = _GENESIS if sequence == 1 else hashes.get(sequence - 1)
        if previous is not None:
            self._verify_link(record, raw, previous, payload, problems)
        elif not self._bound_fails(record, raw, payload, problems):
            # its predecessor may come (reordered) or never (past retention, a gap): an
            # event with ce_prevhash was checked alone; its predecessor's hash, if it comes
            stream.pending[sequence] = (payload, record.offset, raw)
        if stream.pending:
            self._verify_follower(record, stream, sequence, claimed)
        if self._public_keys:
            self._check_signature(record, raw, claimed.decode(), problems, model)

    def _second(
        self, record: Record, raw: dict[str, bytes], stream: Stream, sequence: int, *, same: bool
    ) -> Finding:
        """A second event at ``sequence``: a redelivery (benign) only if it is the event the
        hash was made of. A copy of a genuine (signed) ``ce_hash`` on another id, time or
        payload is what a replay looks like, and is tampering."""
        detail = f"sequence {sequence} seen before"
        if not same:
            return self._finding(Kind.CONFLICT, record, raw, detail)
        payload = record.value or b""
        previous = _GENESIS if sequence == 1 else stream.hashes.get(sequence - 1)
        if previous is not None:
            tampered: list[Finding] = []
            self._verify_link(record, raw, previous, payload, tampered)
            if not tampered:
                return self._finding(Kind.DUPLICATE, record, raw, detail)
        else:  # the first one waits for its predecessor too: the copy must be the same event
            first = stream.pending.get(sequence)
            if first is None or _same_event(first[0], first[2], payload, raw):
                return self._finding(Kind.DUPLICATE, record, raw, detail)
        why = f"{detail} with this ce_hash, which does not match this copy's id, time or data"
        return self._finding(Kind.TAMPERED, record, raw, why)

    def _verify_follower(
        self, record: Record, stream: Stream, sequence: int, claimed: bytes
    ) -> None:
        """A late predecessor arrived: check the event that waited for it."""
        follower = stream.pending.pop(sequence + 1, None)
        if follower is None:
            return
        payload, offset, raw = follower
        late: list[Finding] = []
        self._verify_link(record, raw, claimed, payload, late, offset)
        if stream.selected:
            self.findings += late

    def _verify_link(
        self,
        record: Record,
        raw: dict[str, bytes],
        previous: bytes,
        payload: bytes,
        problems: list[Finding],
        offset: int | None = None,
    ) -> None:
        claimed = raw[ce.H_HASH]
        body = fast_chain_body(raw, payload)
        if body is not None and hashlib.sha256(previous + body).hexdigest().encode() == claimed:
            return
        # The exact definition (contracts.chain), for either canonical form.
        if link_holds(previous, headers_text(raw), payload):
            return
        detail = "hash does not match the event and its predecessor's hash"
        problems.append(self._finding(Kind.TAMPERED, record, raw, detail, offset))

    def _bound_fails(
        self, record: Record, raw: dict[str, bytes], payload: bytes, problems: list[Finding]
    ) -> bool:
        """Whether an event without its predecessor fails the check of its hash after its
        own ``ce_prevhash`` (``contracts.chain.bound_hash_holds``; False without one)."""
        prevhash = raw.get(ce.H_PREVHASH)
        if prevhash is None:
            return False
        found: list[Finding] = []
        self._verify_link(record, raw, prevhash, payload, found)
        for finding in found:
            problems.append(replace(finding, detail=_NOT_THIS_EVENT))
        return bool(found)

    def _check_signature(
        self,
        record: Record,
        raw: dict[str, bytes],
        digest: str,
        problems: list[Finding],
        model: type[Event] | None,
    ) -> None:
        key = self._public_keys.get(signer_of(record.topic, model, raw[ce.H_SOURCE]))
        if key is None or self._verify_signature is None:
            return
        signature = raw.get(ce.H_SIGNATURE)
        prevhash = raw.get(ce.H_PREVHASH)
        signed = signed_message(digest, None if prevhash is None else prevhash.decode("latin-1"))
        if signature is None:
            problems.append(self._finding(Kind.UNSIGNED, record, raw, "no ce_signature"))
        elif not self._verify_signature(
            key, signed.decode("latin-1"), signature.decode("ascii", "replace")
        ):
            problems.append(self._finding(Kind.BAD_SIGNATURE, record, raw, "invalid"))

    def _stream(self, topic: str, subject: bytes, partition: int) -> Stream:
        """The stream kept whole (the compact chain's digests, if it had one, become its hashes)."""
        stream = self._streams.get((topic, subject))
        if stream is not None:
            return stream
        digests = self._chains.get(topic, {}).pop(subject, None)
        stream = Stream(topic, subject.decode("utf-8", "replace"), partition)
        if digests is not None:
            stream.partition = partition_of(digests)
            stream.hashes = hex_hashes(digests)
            stream.max_sequence = len(stream.hashes)
            stream.selected = True
        self._streams[(topic, subject)] = stream
        return stream

    def finish(self, truncated: frozenset[tuple[str, int]] = frozenset()) -> list[Finding]:
        """Gaps of every selected stream; returns all findings.

        ``truncated``: (topic, partition) whose log no longer starts at offset 0. There,
        missing sequence numbers 1..n before the first retained event are reported as
        ``truncated`` (retention, a warning), not as a gap.
        """
        for stream in self._streams.values():
            if stream.selected:
                self.findings += gaps(stream, (stream.topic, stream.partition) in truncated)
            stream.pending.clear()
        return self.findings

    def heads(self) -> dict[tuple[str, str], tuple[int, str]]:
        """(topic, subject) -> (highest sequence seen, its ce_hash)."""
        return {key: (log.last, log.hash_at[log.last]) for key, log in self.log_view({}).items()}

    def log_streams(
        self, wanted: Mapping[tuple[str, str], int]
    ) -> dict[tuple[str, str], LogStream]:
        """Every stream read: its last sequence, with the hashes at it and at ``wanted[stream]``."""
        return dict(self.log_view(wanted))

    def log_view(self, wanted: Mapping[tuple[str, str], int]) -> LogView:
        """``log_streams`` without making every ``LogStream`` at once (``ikm audit replay``)."""
        return LogView(self._streams, self._chains, wanted)

    @property
    def streams(self) -> int:
        return len(self._streams) + sum(len(chains) for chains in self._chains.values())

    def _finding(
        self,
        kind: Kind,
        record: Record,
        raw: dict[str, bytes],
        detail: str,
        offset: int | None = None,
    ) -> Finding:
        headers = headers_text(raw)
        sequence = headers.get(ce.H_SEQUENCE)
        return Finding(
            kind,
            record.topic,
            record.partition,
            record.offset if offset is None else offset,
            headers.get(ce.H_SUBJECT, (record.key or b"").decode("utf-8", "replace")),
            int(sequence) if sequence and sequence.isascii() and sequence.isdigit() else None,
            headers.get(ce.H_ID),
            headers.get(ce.H_TYPE),
            detail,
        )


_NOT_THIS_EVENT = "hash does not match the event and its ce_prevhash"


def _same_event(
    payload: bytes, raw: dict[str, bytes], other_payload: bytes, other: dict[str, bytes]
) -> bool:
    """Whether two records carry the same event (what the chain hashes; a trace may differ)."""
    if payload != other_payload:
        return False
    ignored = (ce.H_TRACEPARENT,)
    return {k: v for k, v in raw.items() if k not in ignored} == {
        k: v for k, v in other.items() if k not in ignored
    }
