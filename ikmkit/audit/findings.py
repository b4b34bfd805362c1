"""What an audit can find: the kinds of finding and the finding itself (``ikmkit.audit.chain``
reports those on the log, ``ikmkit.audit.published`` those against the outboxes)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    TAMPERED = "tampered"  # the recomputed hash differs from ce_hash
    FORGED = "forged"  # not its topic's owner's: another ce_source, or a type of another topic
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
    KEY_MISMATCH = "key_mismatch"  # Kafka key differs from ce_subject (wrong partition)
    TRUNCATED = "truncated"  # a stream's first events are older than the partition's retention
    # Against the outboxes' stream heads (ikmkit.audit.published):
    MISSING = "missing"  # events the outbox published are not on the log
    HEAD_MISMATCH = "head_mismatch"  # the log's event at the outbox's head has another hash
    NOT_IN_OUTBOX = "not_in_outbox"  # a stream on the log its producer's outbox does not know
    UNSENT = "unsent"  # the stream's last events are still in the relay's backlog (not missing)


BENIGN = frozenset({Kind.DUPLICATE, Kind.TRUNCATED, Kind.UNSENT})


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


def ranges(numbers: list[int]) -> str:
    """``[1, 2, 3, 5]`` -> ``"1-3, 5"`` (sorted numbers, as a finding's detail names them)."""
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
