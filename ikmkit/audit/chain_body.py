"""The bytes an event's chain hash covers after its predecessor's hash, rebuilt from a record.

``contracts.chain`` defines them (``link_holds`` is the exact check, both canonical forms);
``fast_chain_body`` takes a shortcut that is exact for plain attributes (the common case),
where the RFC 8785 and the legacy canonical JSON of the attributes are the same bytes.
"""

from __future__ import annotations

from collections.abc import Sequence

from contracts import envelope as ce
from contracts.chain import CANON_RFC8785, chain_attributes, spliced_body
from ikmkit.audit.canonical import payload_is_canonical

NEEDS_ESCAPE = bytes(range(0x20)) + b'"\\\x7f'
"""ASCII bytes JSON may escape (plus DEL); non-ASCII always takes the exact path."""

KNOWN_CANONS = (None, CANON_RFC8785.encode())


def headers_text(raw: dict[str, bytes]) -> dict[str, str]:
    """Kafka headers as text (undecodable bytes replaced, absent values dropped)."""
    return {k: v.decode("utf-8", "replace") for k, v in raw.items() if v is not None}


def chain_body(headers: dict[str, str], payload: bytes, *, normalize_time: bool = False) -> bytes:
    """The bytes the producer hashed after the previous hash, in the event's canonical form."""
    attributes = chain_attributes(headers, normalize_time=normalize_time)
    return spliced_body(payload, attributes, headers.get(ce.H_HASHCANON))


def plain_sequence(sequence: bytes) -> bytes | None:
    """The JSON integer of a ``ce_sequence`` (zero-padded or not), None unless plain digits."""
    if not sequence.isdigit() or not sequence.isascii():
        return None
    return sequence.lstrip(b"0") or None


def fast_chain_body(raw: dict[str, bytes], payload: bytes) -> bytes | None:
    """The hashed bytes straight from the header bytes, or None when that would not be exact.

    Serialising JSON costs more than the rest of the check; when no attribute needs JSON
    escaping and the sequence is plain digits, the canonical JSON is the header bytes
    between quotes.
    """
    id_, source, subject, time, type_ = (
        raw[ce.H_ID], raw[ce.H_SOURCE], raw[ce.H_SUBJECT], raw[ce.H_TIME], raw[ce.H_TYPE]
    )  # fmt: skip
    region = raw.get(ce.H_REGION)
    sequence = plain_sequence(raw[ce.H_SEQUENCE])
    joined = b"".join((id_, source, subject, time, type_, region or b""))
    if not joined.isascii() or len(joined.translate(None, NEEDS_ESCAPE)) != len(joined):
        return None
    canon = raw.get(ce.H_HASHCANON)
    if sequence is None or canon not in KNOWN_CANONS:
        return None
    if canon is not None and not payload_is_canonical(payload):
        return None  # the splice is the RFC 8785 form only for a canonical payload
    return plain_chain_body(payload, id_, source, subject, time, type_, region, sequence)


def plain_chain_body(
    payload: bytes,
    id_: bytes,
    source: bytes,
    subject: bytes,
    time: bytes,
    type_: bytes,
    region: bytes | None,
    sequence: bytes,
) -> bytes:
    """The hashed bytes of attributes the caller has checked need no JSON escaping."""
    return b"".join(
        (
            b'{"data":', payload,
            b',"id":"', id_,
            b'","region":', b"null" if region is None else b'"' + region + b'"',
            b',"sequence":', sequence,
            b',"source":"', source,
            b'","subject":"', subject,
            b'","time":"', time,
            b'","type":"', type_, b'"}',
        )
    )  # fmt: skip


_PLATFORM = (
    ce.H_SPECVERSION, ce.H_ID, ce.H_TYPE, ce.H_SOURCE, ce.H_TIME, ce.H_SUBJECT, ce.H_SEQUENCE,
    ce.H_HASH, ce.H_CONTENT_TYPE, ce.H_DATASCHEMA, ce.H_HASHCANON, ce.H_REGION,
)  # fmt: skip
_SIGNED_TAILS = ((), (ce.H_TRACEPARENT,), (ce.H_SIGNATURE,), (ce.H_SIGNATURE, ce.H_TRACEPARENT))
_PLATFORM_TAILS = frozenset(
    # ``ce_prevhash`` (written since 2026-12) comes first in the tail: the chain's checks
    # here do not read it (the predecessor's own hash is what the link is checked against)
    (*_SIGNED_TAILS, *((ce.H_PREVHASH, *tail) for tail in _SIGNED_TAILS))
)

ChainFields = tuple[bytes, bytes, bytes, bytes, bytes, bytes, bytes, bytes | None, bytes | None]
"""(id, source, subject, time, type, sequence, hash, hashcanon, region) header values."""


def chain_fields(headers: Sequence[tuple[str, bytes]]) -> ChainFields | None:
    """The chain's header values, as ``dict(headers)`` gives them; None if one is absent.

    The platform writes a regional event's headers in one order (``contracts.codec.to_headers``):
    unpacking that layout costs two thirds of building a dict of every header, and replay
    speed is per-record Python work. Any other layout takes the dict.
    """
    try:
        (k0, _), (k1, id_), (k2, type_), (k3, source), (k4, time), (k5, subject), \
            (k6, sequence), (k7, claimed), (k8, _), (k9, _), (k10, canon), (k11, region), \
            *tail = headers  # fmt: skip
    except (TypeError, ValueError):
        return _fields_of(dict(headers))
    if (k0, k1, k2, k3, k4, k5, k6, k7, k8, k9, k10, k11) != _PLATFORM or (
        tail and tuple(name for name, _ in tail) not in _PLATFORM_TAILS
    ):
        return _fields_of(dict(headers))
    return id_, source, subject, time, type_, sequence, claimed, canon, region


def _fields_of(raw: dict[str, bytes]) -> ChainFields | None:
    try:
        return (
            raw[ce.H_ID], raw[ce.H_SOURCE], raw[ce.H_SUBJECT], raw[ce.H_TIME], raw[ce.H_TYPE],
            raw[ce.H_SEQUENCE], raw[ce.H_HASH], raw.get(ce.H_HASHCANON), raw.get(ce.H_REGION),
        )  # fmt: skip
    except KeyError:
        return None
