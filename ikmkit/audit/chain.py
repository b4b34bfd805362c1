"""Checks a stream of Kafka records against the contracts and each aggregate's hash chain.

Pure (no I/O): ``ChainVerifier.check`` takes records in partition order and
returns what it learnt about each; ``finish`` reports what only the whole
stream reveals (gaps, events whose predecessor never arrived).

A stream is one aggregate on one topic (``topic`` + ``ce_subject``, which is
also the Kafka key, so a stream lives in one partition and is read in order).
Per stream the verifier expects ``ce_sequence`` 1, 2, 3 ... and
``ce_hash[n] == sha256(ce_hash[n-1] + canonical JSON of event n)``
(``ikmkit.cloudevents.chain_hash``; the first event's predecessor is
``GENESIS_HASH``). Each event is checked against the hash its predecessor
*claims*, so one altered payload is one finding, not a cascade. An attacker who
rewrites an event *and* recomputes its hash breaks the link to the next event,
which is then flagged; only the very last event of a stream can be rewritten
undetectably without signatures, which is what ``ce_signature`` is for.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from pydantic import ValidationError

from contracts import envelope as ce
from contracts.base import Event
from contracts.catalog import EVENTS_BY_TYPE
from ikmkit.consumer import Record


class Kind(StrEnum):
    TAMPERED = "tampered"  # the recomputed hash differs from ce_hash
    GAP = "gap"  # sequence numbers missing from a stream
    DUPLICATE = "duplicate"  # the same event delivered again (at-least-once; benign)
    CONFLICT = "conflict"  # two different events claim the same sequence number
    REORDERED = "reordered"  # a sequence number arrived after a higher one
    UNCHAINED = "unchained"  # no ce_sequence / ce_hash
    UNDECODABLE = "undecodable"  # headers or payload cannot be read
    UNKNOWN_TYPE = "unknown_type"  # no contract for ce_type
    CONTRACT_VIOLATION = "contract_violation"  # payload fails its contract
    BAD_SIGNATURE = "bad_signature"  # ce_signature does not verify with the source's key
    UNSIGNED = "unsigned"  # the source has a key but the event carries no signature


BENIGN = frozenset({Kind.DUPLICATE})


@dataclass(frozen=True, slots=True)
class Finding:
    kind: Kind
    topic: str
    partition: int
    offset: int
    subject: str
    sequence: int | None
    event_id: str | None
    event_type: str | None
    detail: str

    @property
    def severity(self) -> str:
        return "warning" if self.kind in BENIGN else "error"


@dataclass(slots=True)
class Checked:
    """One record as the verifier saw it (``model`` is None if it could not be decoded)."""

    record: Record
    headers: dict[str, str]
    model: type[Event] | None
    time: datetime | None
    sequence: int | None
    ok: bool = True
    selected: bool = True


@dataclass(slots=True)
class _Stream:
    topic: str
    subject: str
    partition: int = 0
    max_sequence: int = 0
    hashes: dict[int, str] = field(default_factory=dict)
    # events whose predecessor has not been seen yet: sequence -> (payload, offset, headers)
    pending: dict[int, tuple[bytes, int, dict[str, str]]] = field(default_factory=dict)
    selected: bool = False


SignatureCheck = Callable[[str, str, str], bool]
"""(public key, digest, signature) -> valid?"""

_GENESIS = ce.GENESIS_HASH.encode()


def _canonical(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def chain_body(headers: dict[str, str], payload: bytes, *, normalize_time: bool = False) -> bytes:
    """The bytes ``chain_hash`` hashes after the previous hash (see ikmkit.cloudevents)."""
    time = headers[ce.H_TIME]
    if normalize_time:
        time = datetime.fromisoformat(time).isoformat()
    attrs = _canonical(
        {
            "id": headers[ce.H_ID],
            "region": headers.get(ce.H_REGION),
            "sequence": int(headers[ce.H_SEQUENCE]),
            "source": headers[ce.H_SOURCE],
            "subject": headers[ce.H_SUBJECT],
            "time": time,
            "type": headers[ce.H_TYPE],
        }
    )
    return b'{"data":' + payload + b"," + attrs[1:].encode()


def _decode_headers(record: Record) -> dict[str, str]:
    return {k: v.decode("utf-8", "replace") for k, v in record.headers if v is not None}


class ChainVerifier:
    """Verifies records one by one; collects findings per stream."""

    def __init__(
        self,
        *,
        public_keys: dict[str, str] | None = None,
        verify_signature: SignatureCheck | None = None,
    ) -> None:
        self.findings: list[Finding] = []
        self._streams: dict[tuple[str, str], _Stream] = {}
        self._public_keys = public_keys or {}
        self._verify_signature = verify_signature
        self.events_checked = 0

    def check(
        self, record: Record, *, selected: bool | Callable[[Checked], bool] = True
    ) -> Checked:
        """Verify one record; findings are kept only for selected records.

        ``selected`` may be a predicate on the decoded record; a stream's gaps are
        reported only if at least one of its records was selected.
        """
        self.events_checked += 1
        headers = _decode_headers(record)
        problems: list[Finding] = []
        model, time, sequence = self._check_contract(record, headers, problems)
        checked = Checked(record, headers, model, time, sequence)
        if not isinstance(selected, bool):
            selected = selected(checked)
        if ce.H_SEQUENCE not in headers or ce.H_HASH not in headers or sequence is None:
            if model is not None:
                problems.append(
                    self._finding(Kind.UNCHAINED, record, headers, "no ce_sequence/ce_hash")
                )
        elif model is not None or ce.H_SUBJECT in headers:
            self._check_chain(record, headers, sequence, problems, selected)
        if selected:
            self.findings += problems
        checked.ok, checked.selected = not problems, selected
        return checked

    def _check_contract(
        self, record: Record, headers: dict[str, str], problems: list[Finding]
    ) -> tuple[type[Event] | None, datetime | None, int | None]:
        missing = [
            h
            for h in (ce.H_ID, ce.H_TYPE, ce.H_SOURCE, ce.H_TIME, ce.H_SUBJECT)
            if h not in headers
        ]
        if missing:
            problems.append(self._finding(Kind.UNDECODABLE, record, headers, f"missing {missing}"))
            return None, None, None
        try:
            time = datetime.fromisoformat(headers[ce.H_TIME])
            sequence = int(headers[ce.H_SEQUENCE]) if ce.H_SEQUENCE in headers else None
        except ValueError as exc:
            problems.append(self._finding(Kind.UNDECODABLE, record, headers, str(exc)))
            return None, None, None
        model = EVENTS_BY_TYPE.get(headers[ce.H_TYPE])
        if model is None:
            problems.append(self._finding(Kind.UNKNOWN_TYPE, record, headers, "no contract"))
            return None, time, sequence
        try:
            model.model_validate_json(record.value or b"")
        except ValidationError as exc:
            # Locations and messages only: pydantic's input values may be personal data.
            fields = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}"
                for err in exc.errors(include_input=False, include_url=False)
            )
            problems.append(self._finding(Kind.CONTRACT_VIOLATION, record, headers, fields))
        return model, time, sequence

    def _check_chain(
        self,
        record: Record,
        headers: dict[str, str],
        sequence: int,
        problems: list[Finding],
        selected: bool,
    ) -> None:
        key = (record.topic, headers[ce.H_SUBJECT])
        stream = self._streams.get(key)
        if stream is None:
            stream = self._streams[key] = _Stream(record.topic, key[1], record.partition)
        stream.selected |= selected
        claimed = headers[ce.H_HASH]
        known = stream.hashes.get(sequence)
        if known is not None:
            kind = Kind.DUPLICATE if known == claimed else Kind.CONFLICT
            problems.append(
                self._finding(kind, record, headers, f"sequence {sequence} seen before")
            )
            return
        if sequence < stream.max_sequence:
            detail = f"sequence {sequence} after {stream.max_sequence}"
            problems.append(self._finding(Kind.REORDERED, record, headers, detail))
        stream.hashes[sequence] = claimed
        stream.max_sequence = max(stream.max_sequence, sequence)
        payload = record.value or b""
        previous = _GENESIS if sequence == 1 else stream.hashes.get(sequence - 1, "").encode()
        if previous:
            self._verify_link(record, headers, previous, payload, problems)
        else:
            stream.pending[sequence] = (payload, record.offset, headers)
        follower = stream.pending.pop(sequence + 1, None)
        if follower is not None:
            f_payload, f_offset, f_headers = follower
            late: list[Finding] = []
            self._verify_link(record, f_headers, claimed.encode(), f_payload, late, f_offset)
            if stream.selected:
                self.findings += late
        self._check_signature(record, headers, claimed, problems)

    def _verify_link(
        self,
        record: Record,
        headers: dict[str, str],
        previous: bytes,
        payload: bytes,
        problems: list[Finding],
        offset: int | None = None,
    ) -> None:
        claimed = headers[ce.H_HASH]
        if hashlib.sha256(previous + chain_body(headers, payload)).hexdigest() == claimed:
            return
        # The fast path hashes ce_time as sent; the definition hashes it re-serialized.
        exact = chain_body(headers, payload, normalize_time=True)
        if hashlib.sha256(previous + exact).hexdigest() != claimed:
            detail = "hash does not match the event and its predecessor's hash"
            problems.append(self._finding(Kind.TAMPERED, record, headers, detail, offset))

    def _check_signature(
        self, record: Record, headers: dict[str, str], digest: str, problems: list[Finding]
    ) -> None:
        key = self._public_keys.get(headers[ce.H_SOURCE])
        if key is None or self._verify_signature is None:
            return
        signature = headers.get(ce.H_SIGNATURE)
        if signature is None:
            problems.append(self._finding(Kind.UNSIGNED, record, headers, "no ce_signature"))
        elif not self._verify_signature(key, digest, signature):
            problems.append(self._finding(Kind.BAD_SIGNATURE, record, headers, "invalid"))

    def finish(self) -> list[Finding]:
        """Gaps and unverifiable events of every selected stream; returns all findings."""
        for stream in self._streams.values():
            if not stream.selected:
                continue
            missing = sorted(set(range(1, stream.max_sequence + 1)) - set(stream.hashes))
            if missing:
                self.findings.append(
                    Finding(
                        Kind.GAP,
                        stream.topic,
                        stream.partition,
                        -1,
                        stream.subject,
                        missing[0],
                        None,
                        None,
                        f"missing sequence numbers {_ranges(missing)} of 1..{stream.max_sequence}",
                    )
                )
            stream.pending.clear()
        return self.findings

    def heads(self) -> dict[tuple[str, str], tuple[int, str]]:
        """(topic, subject) -> (highest sequence seen, its ce_hash)."""
        return {
            key: (stream.max_sequence, stream.hashes[stream.max_sequence])
            for key, stream in self._streams.items()
            if stream.max_sequence
        }

    @property
    def streams(self) -> int:
        return len(self._streams)

    def _finding(
        self,
        kind: Kind,
        record: Record,
        headers: dict[str, str],
        detail: str,
        offset: int | None = None,
    ) -> Finding:
        sequence = headers.get(ce.H_SEQUENCE)
        return Finding(
            kind,
            record.topic,
            record.partition,
            record.offset if offset is None else offset,
            headers.get(ce.H_SUBJECT, (record.key or b"").decode("utf-8", "replace")),
            int(sequence) if sequence and sequence.isdigit() else None,
            headers.get(ce.H_ID),
            headers.get(ce.H_TYPE),
            detail,
        )


def _ranges(numbers: list[int]) -> str:
    parts: list[str] = []
    start = previous = numbers[0]
    for n in [*numbers[1:], None]:
        if n is not None and n == previous + 1:
            previous = n
            continue
        parts.append(str(start) if start == previous else f"{start}-{previous}")
        if n is not None:
            start = previous = n
    return ", ".join(parts)
