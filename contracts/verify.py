"""Verify the platform's records as an integrating system reads them: decode, contract, chain.

``StreamVerifier.check`` takes the records of a topic in log order (a stream, one aggregate
on one topic, lives in one partition) and returns the decoded event, or None when there is
nothing to handle (undecodable; a duplicate, conflicting or tampered copy); what is wrong
is collected in ``problems`` (an event that came before its predecessor is checked when the
predecessor comes: a ``tampered`` problem then names one already returned). It is the core
of ``ikm audit replay``'s checks for systems without the platform (no signatures, outboxes,
retention or parallel reading).

An event that carries ``ce_prevhash`` is also checked on its own when it comes
(``contracts.chain.bound_hash_holds``): a copy of a genuine ``ce_hash`` (signed or not) on
other content, read before the genuine event and even with its predecessor missing, is
``tampered`` at once and not returned, and the genuine event, when it comes, takes its
sequence as if the copy had never been read. Events without it (written before 2026-12)
are checked against their predecessor only: a copy read before such an event, with the
predecessor missing, cannot be told from it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from contracts import envelope as ce
from contracts.catalog import misattributed
from contracts.chain import bound_hash_holds, link_holds
from contracts.codec import DecodeError, Envelope, decode, header_map


@dataclass(frozen=True)
class Problem:
    kind: str
    """``undecodable`` (with the codec's reason), ``forged`` (not from the topic's owner:
    another ``ce_source``, or a type of another topic; not returned), ``unchained``,
    ``gap``, ``reordered`` (a sequence after a higher one), ``duplicate`` (a redelivery: the
    very event again), ``conflict`` (another event with a sequence seen), ``tampered`` (also
    a copy of a seen ``ce_hash`` on another id, time or data: a replayed signature)."""
    topic: str
    subject: str | None
    sequence: int | None
    detail: str


@dataclass
class _Stream:
    last: int = 0
    hashes: dict[int, str] = field(default_factory=dict)
    waiting: dict[int, tuple[dict[str, str], bytes]] = field(default_factory=dict)
    """Events whose predecessor had not arrived: checked when it does."""
    tampered: set[int] = field(default_factory=set)
    """Sequences whose event was found tampered: the genuine one may still come."""


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
        wrong = misattributed(topic, type(envelope.event), attrs.source)
        if wrong is not None:  # not the owner's: no part of its streams, nothing to handle
            self._problem("forged", topic, attrs.subject, attrs.sequence, wrong)
            return None
        if not attrs.hash or ce.H_SEQUENCE not in text:
            self._problem("unchained", topic, attrs.subject, None, "no ce_sequence/ce_hash")
            return envelope
        stream = self._streams.setdefault((topic, attrs.subject), _Stream())
        before = len(self.problems)
        self._link(stream, topic, text, value or b"")
        if any(p.kind in _NOT_TO_HANDLE for p in self.problems[before:]):
            return None  # a copy or a forgery: nothing to handle (``problems`` says which)
        return envelope

    def _link(self, stream: _Stream, topic: str, headers: dict[str, str], payload: bytes) -> None:
        subject, claimed = headers[ce.H_SUBJECT], headers[ce.H_HASH]
        sequence = int(headers[ce.H_SEQUENCE])
        bound = bound_hash_holds(headers, payload)
        known = stream.hashes.get(sequence)
        if known == claimed and sequence in stream.tampered and bound is not False:
            # A tampered copy of this event's hash came first: this may be the event itself.
            stream.tampered.discard(sequence)
            del stream.hashes[sequence]
            known = None
        if known is not None:
            kind = (
                "tampered"  # whatever came before: this one is not the event its hash covers
                if bound is False
                else self._again(stream, headers, payload, sequence, same=known == claimed)
            )
            self._problem(kind, topic, subject, sequence, f"sequence {sequence} seen before")
            return
        if sequence < stream.last:
            detail = f"sequence {sequence} after {stream.last}"
            self._problem("reordered", topic, subject, sequence, detail)
        previous = ce.GENESIS_HASH if sequence == 1 else stream.hashes.get(sequence - 1)
        if previous is None:
            detail = f"events {stream.last + 1}..{sequence - 1} missing before {sequence}"
            self._problem("gap", topic, subject, sequence, detail)
        if bound is False:
            self._problem("tampered", topic, subject, sequence, _NOT_THIS_EVENT)
            stream.tampered.add(sequence)
        elif previous is None:
            stream.waiting[sequence] = (headers, payload)
        elif not link_holds(previous, headers, payload):
            self._problem("tampered", topic, subject, sequence, _TAMPERED)
            stream.tampered.add(sequence)
        stream.hashes[sequence] = claimed
        stream.last = max(stream.last, sequence)
        follower = stream.waiting.pop(sequence + 1, None)
        if follower is not None and not link_holds(claimed, *follower):
            self._problem("tampered", topic, subject, sequence + 1, _TAMPERED)

    @staticmethod
    def _again(
        stream: _Stream, headers: dict[str, str], payload: bytes, sequence: int, *, same: bool
    ) -> str:
        """A second event at ``sequence``: a duplicate only if it is the event hashed."""
        if not same:
            return "conflict"
        previous = ce.GENESIS_HASH if sequence == 1 else stream.hashes.get(sequence - 1)
        if previous is not None:
            return "duplicate" if link_holds(previous, headers, payload) else "tampered"
        first = stream.waiting.get(sequence)
        if first is None or (_traceless(first[0]), first[1]) == (_traceless(headers), payload):
            return "duplicate"
        return "tampered"

    def _problem(
        self, kind: str, topic: str, subject: str | None, sequence: int | None, detail: str
    ) -> None:
        self.problems.append(Problem(kind, topic, subject, sequence, detail))


_NOT_TO_HANDLE = frozenset({"duplicate", "conflict", "tampered"})
_TAMPERED = "ce_hash does not match the event and its predecessor's hash"
_NOT_THIS_EVENT = "ce_hash does not match the event and its ce_prevhash"


def _traceless(headers: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k != ce.H_TRACEPARENT}
