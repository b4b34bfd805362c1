"""The bytes an event's chain hash covers after its predecessor's hash, rebuilt from a record.

``ikmkit.messaging.cloudevents.chain_hash`` defines them on the producer side: the event's JSON
data and its envelope attributes as canonical JSON. ``chain_body`` rebuilds them exactly;
``fast_chain_body`` takes a shortcut that is exact for plain attributes (the common case).
"""

from __future__ import annotations

from datetime import datetime

from contracts import envelope as ce
from ikmkit.messaging.cloudevents import canonical_json

NEEDS_ESCAPE = bytes(range(0x20)) + b'"\\\x7f'
"""ASCII bytes json.dumps would escape (plus DEL); non-ASCII always takes the exact path."""


def headers_text(raw: dict[str, bytes]) -> dict[str, str]:
    """Kafka headers as text (undecodable bytes replaced, absent values dropped)."""
    return {k: v.decode("utf-8", "replace") for k, v in raw.items() if v is not None}


def chain_body(headers: dict[str, str], payload: bytes, *, normalize_time: bool = False) -> bytes:
    """The bytes ``chain_hash`` hashes after the previous hash, built as it builds them."""
    time = headers[ce.H_TIME]
    if normalize_time:
        time = datetime.fromisoformat(time).isoformat()
    canonical = canonical_json(
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
    return b'{"data":' + payload + b"," + canonical[1:].encode()


def fast_chain_body(raw: dict[str, bytes], payload: bytes) -> bytes | None:
    """``chain_body`` straight from the header bytes, or None when that would not be exact.

    json.dumps costs more than the rest of the check; when no attribute needs JSON
    escaping and the sequence is a plain decimal, the canonical JSON is the header
    bytes between quotes.
    """
    id_, source, subject, time, type_ = (
        raw[ce.H_ID], raw[ce.H_SOURCE], raw[ce.H_SUBJECT], raw[ce.H_TIME], raw[ce.H_TYPE]
    )  # fmt: skip
    region = raw.get(ce.H_REGION)
    sequence = raw[ce.H_SEQUENCE]
    joined = b"".join((id_, source, subject, time, type_, region or b""))
    if not joined.isascii() or len(joined.translate(None, NEEDS_ESCAPE)) != len(joined):
        return None
    if not sequence.isdigit() or sequence[:1] == b"0":
        return None
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
    """``chain_body`` of attributes the caller has checked need no JSON escaping."""
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
