"""The bytes an event's chain hash covers after its predecessor's hash, rebuilt from a record.

``contracts.chain`` defines them (``link_holds`` is the exact check, both canonical forms);
``fast_chain_body`` takes a shortcut that is exact for plain attributes (the common case),
where the RFC 8785 and the legacy canonical JSON of the attributes are the same bytes.
"""

from __future__ import annotations

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
