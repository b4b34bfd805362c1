"""CloudEvents 1.0 Kafka binary binding: the codec lives in ``contracts.codec``.

It moved there so that the ``ikm-contracts`` wheel, which integrating systems install to
consume and verify events, carries the very codec the platform uses; this module keeps
the platform's import path. The encoding half is the platform's fast one: the same bytes
as ``contracts.codec`` (RFC 8785 canonical JSON, the same chain hash and headers), written
by orjson where that is provably the same and by the wheel's code where it cannot tell.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import orjson

from contracts import envelope as ce
from contracts.base import Event
from contracts.chain import CANON_RFC8785, link_hash, spliced_body
from contracts.chain import canonical_json as canonical_by_definition
from contracts.codec import (
    DecodeError,
    Envelope,
    Headers,
    UnrepresentableEvent,
    decode,
    decode_attributes,
    envelope_for,
    hashed_attributes,
    header_map,
    sequence_text,
    to_headers,
)
from contracts.codec import chain_hash as chain_hash_by_definition
from contracts.codec import event_payload as event_payload_by_definition
from contracts.envelope import EnvelopeAttributes

__all__ = [
    "DecodeError",
    "Envelope",
    "Headers",
    "UnrepresentableEvent",
    "canonical_json",
    "chain_hash",
    "chain_hash_of",
    "decode",
    "decode_attributes",
    "envelope_for",
    "event_payload",
    "hash_is_bound",
    "hashed_attributes",
    "header_map",
    "header_text",
    "quick_canonical",
    "sequence_text",
    "to_headers",
]

_KEYS = frozenset((str,))
_SCALARS = frozenset((str, bool, type(None), int))
_CONTAINERS = frozenset((dict, list))
_SCALARS_AND_CONTAINERS = _SCALARS | _CONTAINERS
_BEYOND_BMP = re.compile(rb"[\xf0-\xff]")  # lead bytes of 4-byte UTF-8


def quick_canonical(value: Any) -> bytes | None:
    """RFC 8785 (JCS) of ``value``, or None where this cannot vouch for it.

    orjson with sorted keys writes what JCS writes for a document of dicts (string keys),
    lists, strings, booleans, None and integers within ±(2**53 - 1): compact, strings
    escaped only where JCS escapes them (``"``, ``\\``, control characters, lowercase hex),
    integers in decimal. It differs on floats (JCS writes ES6 numbers), on larger integers
    (JCS refuses them) and on key order beyond U+FFFF (JCS orders UTF-16 code units): those
    and any other type (tuples, subclasses, ...) are left to the definition.
    ``tests/unit/test_canonical_fast.py`` holds it to the JCS library."""
    if not _plain(value):
        return None
    try:
        text = orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_STRICT_INTEGER)
    except orjson.JSONEncodeError:  # e.g. a lone surrogate
        return None
    if not text.isascii() and _BEYOND_BMP.search(text):
        return None
    return text


def _plain(value: Any) -> bool:
    """Only dicts with string keys, lists, strings, booleans, None and integers (orjson's
    ``OPT_STRICT_INTEGER`` refuses those beyond ±(2**53 - 1))."""
    kind = type(value)
    if kind is dict:
        if not _KEYS.issuperset(map(type, value)):
            return False
        members = value.values()
    elif kind is list:
        members = value
    else:
        return kind in _SCALARS
    kinds = set(map(type, members))  # one C-level pass: a flat document ends here
    if kinds <= _SCALARS:
        return True
    if not kinds <= _SCALARS_AND_CONTAINERS:
        return False
    return all(_plain(member) for member in members if type(member) in _CONTAINERS)


def canonical_json(value: Any) -> str:
    """``contracts.chain.canonical_json``: RFC 8785; integers beyond 2**53 are refused."""
    quick = quick_canonical(value)
    return quick.decode() if quick is not None else canonical_by_definition(value)


def event_payload(event: Event) -> str:
    """``contracts.codec.event_payload``: the RFC 8785 JSON of the event's data."""
    quick = quick_canonical(event.model_dump(mode="json"))
    return quick.decode() if quick is not None else event_payload_by_definition(event)


_ATTRIBUTE_VALUES = frozenset((str, int, type(None)))
_CHAIN_KEYS = frozenset(("id", "region", "sequence", "source", "subject", "time", "type"))


def _quick_attributes(attributes: dict[str, Any]) -> bytes | None:
    """``quick_canonical`` of the chain's attributes (``chain_attributes``' seven ASCII keys,
    values text, an integer or None), without its general checks: with these keys, JCS
    writes what orjson writes (``quick_canonical``) as long as the values are of these exact
    types and the integer within ±(2**53 - 1); characters beyond U+FFFF in a *value* do not
    change the order of the keys. Twice as fast; one per event in every consumer."""
    if not _ATTRIBUTE_VALUES.issuperset(map(type, attributes.values())):
        return None
    try:
        return orjson.dumps(attributes, option=orjson.OPT_SORT_KEYS | orjson.OPT_STRICT_INTEGER)
    except orjson.JSONEncodeError:  # a lone surrogate, a sequence beyond 2**53 - 1
        return None


def chain_hash_of(previous_hash: str, attributes: dict[str, Any], payload: bytes) -> str:
    """The RFC 8785 chain hash of an event with these attributes (``contracts.chain``'s
    ``chain_attributes`` form) and JCS ``payload``: ``contracts.codec.chain_hash``."""
    body = _quick_attributes(attributes) if attributes.keys() == _CHAIN_KEYS else None
    if body is None:
        return link_hash(previous_hash, spliced_body(payload, attributes, CANON_RFC8785))
    return hashlib.sha256(
        previous_hash.encode() + b'{"data":' + payload + b"," + body[1:]
    ).hexdigest()


def hash_is_bound(attrs: EnvelopeAttributes, payload: str) -> bool:
    """``contracts.chain.bound_hash_holds`` of a decoded event, by the outbox's own path:
    whether ``ce_hash`` is the RFC 8785 hash of these attributes (as decoded, so as the
    handler gets them) and these payload bytes after the event's ``ce_prevhash``.

    The payload bytes as they came, spliced: a payload the outbox wrote is JCS, and any other
    bytes (the same JSON value re-serialized included) are not what was hashed, so this is
    exact; ``contracts.chain.link_holds`` also accepts the re-serialized value (the audit).
    False for an event without ``ce_prevhash``, or one not hashed in RFC 8785 (every event
    that carries ``ce_prevhash`` is)."""
    prevhash = attrs.prevhash
    if prevhash is None or attrs.hashcanon != CANON_RFC8785:
        return False
    return chain_hash_of(prevhash, hashed_attributes(attrs), payload.encode()) == attrs.hash


def chain_hash(previous_hash: str, attrs: EnvelopeAttributes, payload: str) -> str:
    """``contracts.codec.chain_hash``."""
    if attrs.hashcanon == CANON_RFC8785:
        return chain_hash_of(previous_hash, hashed_attributes(attrs), payload.encode())
    return chain_hash_by_definition(previous_hash, attrs, payload)


def header_text(attrs: EnvelopeAttributes) -> dict[str, str]:
    """``to_headers`` as text (what the outbox stores), without encoding each value."""
    headers = {
        ce.H_SPECVERSION: ce.SPEC_VERSION,
        ce.H_ID: attrs.id,
        ce.H_TYPE: attrs.type,
        ce.H_SOURCE: attrs.source,
        ce.H_TIME: attrs.time.isoformat(),
        ce.H_SUBJECT: attrs.subject,
        ce.H_SEQUENCE: sequence_text(attrs.sequence),
        ce.H_HASH: attrs.hash,
        ce.H_CONTENT_TYPE: ce.CONTENT_TYPE,
    }
    optional = (
        (ce.H_DATASCHEMA, attrs.dataschema),
        (ce.H_HASHCANON, attrs.hashcanon),
        (ce.H_REGION, attrs.region),
        (ce.H_PREVHASH, attrs.prevhash),
        (ce.H_SIGNATURE, attrs.signature),
        (ce.H_TRACEPARENT, attrs.traceparent),
    )
    headers.update((name, value) for name, value in optional if value is not None)
    return headers
