"""Verify the platform's records as an integrating system reads them: decode, contract, chain.

``StreamVerifier.check`` takes the records of a topic in log order (a stream, one aggregate
on one topic, lives in one partition) and returns the decoded event, or None; what is
wrong is collected in ``problems``. It is the core of ``ikm audit replay``'s checks for
systems without the platform (no signatures, outboxes, retention or parallel reading).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from contracts import envelope as ce
from contracts.chain import link_holds
from contracts.codec import DecodeError, Envelope, decode, header_map


@dataclass(frozen=True)
class Problem:
    kind: str
    """``undecodable`` (with the codec's reason), ``unchained``, ``gap``, ``duplicate``
    (a redelivery), ``conflict`` (another event with a sequence seen), ``tampered``."""
    topic: str
    subject: str | None
    sequence: int | None
    detail: str


@dataclass
class _Stream:
    last: int = 0
    hashes: dict[int, str] = field(default_factory=dict)


class StreamVerifier:
    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.events = 0
        self._streams: dict[tuple[str, str], _Stream] = {}

    def check(
        self, topic: str, headers: Iterable[tuple[str, bytes | None]], value: bytes | None
    ) -> Envelope | None:
        self.events += 1
        text = header_map(headers)
        try:
            envelope = decode(list((k, v.encode()) for k, v in text.items()), value)
        except DecodeError as exc:
            subject = text.get(ce.H_SUBJECT)
            self._problem(f"undecodable:{exc.reason}", topic, subject, None, exc.detail)
            return None
        attrs = envelope.attrs
        if not attrs.hash or ce.H_SEQUENCE not in text:
            self._problem("unchained", topic, attrs.subject, None, "no ce_sequence/ce_hash")
            return envelope
        stream = self._streams.setdefault((topic, attrs.subject), _Stream())
        self._link(stream, topic, text, value or b"")
        return envelope

    def _link(self, stream: _Stream, topic: str, headers: dict[str, str], payload: bytes) -> None:
        subject, claimed = headers[ce.H_SUBJECT], headers[ce.H_HASH]
        sequence = int(headers[ce.H_SEQUENCE])
        known = stream.hashes.get(sequence)
        if known is not None:
            kind = "duplicate" if known == claimed else "conflict"
            self._problem(kind, topic, subject, sequence, f"sequence {sequence} seen before")
            return
        previous = ce.GENESIS_HASH if sequence == 1 else stream.hashes.get(sequence - 1)
        if previous is None:
            detail = f"events {stream.last + 1}..{sequence - 1} missing before {sequence}"
            self._problem("gap", topic, subject, sequence, detail)
        elif not link_holds(previous, headers, payload):
            detail = "ce_hash does not match the event and its predecessor's hash"
            self._problem("tampered", topic, subject, sequence, detail)
        stream.hashes[sequence] = claimed
        stream.last = max(stream.last, sequence)

    def _problem(
        self, kind: str, topic: str, subject: str | None, sequence: int | None, detail: str
    ) -> None:
        self.problems.append(Problem(kind, topic, subject, sequence, detail))
