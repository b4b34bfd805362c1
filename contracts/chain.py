"""The per-aggregate hash chain: what ``ce_hash`` covers and how to check it.

``ce_hash[n] = sha256(ce_hash[n-1] + canonical JSON of event n)``, hex, where "event n" is the
JSON object ``{"data": <the event's data>, "id", "region", "sequence", "source", "subject",
"time", "type"}`` (attribute values as in the headers, ``sequence`` as a JSON integer,
``region`` null when absent) and the first event's previous hash is ``GENESIS_HASH``.

Two canonical forms exist, told apart by the ``ce_hashcanon`` header:

- ``rfc8785``: RFC 8785 (JCS) canonical JSON. Every event written since the change. The
  payload itself is JCS, so the body is also the payload bytes spliced into the attributes.
- absent (legacy): ``json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)``
  of the attributes, with the payload bytes spliced in as they are. Events written before
  the change; verifiers keep accepting them (they never change).

Since ``ce_prevhash`` (the predecessor's hash, carried by each event the outbox writes) the
link is checkable from one event alone: ``bound_hash_holds``. That is what lets a consumer,
which does not see the predecessor, tell that a signed ``ce_hash`` covers *this* event;
what is signed then is ``ce_prevhash`` + ``ce_hash`` (``signed_message``).

This module is standard library + ``rfc8785`` only, so the ``ikm-contracts`` wheel can verify a
log without the platform (docs/contracts.md has the recipe and the test vectors).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import rfc8785

from contracts import envelope as ce

CANON_RFC8785 = "rfc8785"
"""``ce_hashcanon`` of events hashed over RFC 8785 canonical JSON."""


class _Undecided(Exception):
    """A value where the legacy and the RFC 8785 forms may differ: only JCS itself can tell."""


def _no_float(text: str) -> float:
    raise _Undecided(text)


def _short_int(text: str) -> int:
    if len(text.lstrip("-")) > 15:  # maybe beyond 2**53
        raise _Undecided(text)
    return int(text)


_LEGACY = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
_NO_FLOATS = json.JSONDecoder(parse_float=_no_float, parse_int=_short_int, parse_constant=_no_float)
_MAY_BE_OUTSIDE_BMP = re.compile(r"[\U00010000-\U0010ffff\ud800-\udfff]|\\u[dD][89abAB]")


def _short_ints_only(text: str) -> Any:
    """``text`` parsed, or ``_Undecided`` if a number in it is not a short integer or it may
    hold characters outside the Basic Multilingual Plane: the only places where JSON written
    by ``legacy_canonical_json`` and its RFC 8785 form differ (string escaping is the same).
    The C ``json`` module decides in microseconds what the pure-Python JCS library takes
    ten times as long to."""
    plain = text.isascii() and "\\u" not in text  # isascii is a flag check: no scan
    if not plain and _MAY_BE_OUTSIDE_BMP.search(text):
        raise _Undecided(text)
    value, end = _NO_FLOATS.raw_decode(text)
    if end != len(text):
        raise ValueError("trailing characters")
    return value


def canonical_json(value: Any) -> str:
    """RFC 8785 (JCS) canonical JSON; integers beyond 2**53 are refused (I-JSON)."""
    text = _LEGACY.encode(value)
    try:
        _short_ints_only(text)
    except _Undecided:
        return rfc8785.dumps(value).decode()
    return text


def legacy_canonical_json(value: Any) -> str:
    """The canonical JSON of events without ``ce_hashcanon`` (before RFC 8785)."""
    return _LEGACY.encode(value)


def payload_is_canonical(payload: bytes) -> bool:
    """Whether ``payload`` is its own RFC 8785 form (the splice then is the definition)."""
    try:
        text = payload.decode()
        try:
            return _LEGACY.encode(_short_ints_only(text)) == text
        except _Undecided:
            return rfc8785.dumps(json.loads(text, parse_int=float)) == payload
    except (ValueError, UnicodeError):
        return False


def parse_sequence(text: str) -> int:
    """A ``ce_sequence`` value: decimal digits, zero-padded (current) or not (older events)."""
    if not (text.isascii() and text.isdigit()):
        raise ValueError(f"ce_sequence {text!r} is not a decimal number")
    return int(text)


def chain_attributes(headers: Mapping[str, str], *, normalize_time: bool = False) -> dict[str, Any]:
    """The attributes the hash covers, from an event's (text) headers."""
    time = headers[ce.H_TIME]
    if normalize_time:  # early producers hashed datetime.isoformat() of a differently written time
        time = datetime.fromisoformat(time).isoformat()
    return {
        "id": headers[ce.H_ID],
        "region": headers.get(ce.H_REGION),
        "sequence": int(headers[ce.H_SEQUENCE]),  # as written: a forged "+2" fails the hash
        "source": headers[ce.H_SOURCE],
        "subject": headers[ce.H_SUBJECT],
        "time": time,
        "type": headers[ce.H_TYPE],
    }


def spliced_body(payload: bytes, attributes: Mapping[str, Any], canon: str | None) -> bytes:
    """``{"data":<payload bytes>,<attributes>}``: what the producer hashes ("data" sorts first)."""
    dumps = canonical_json if canon == CANON_RFC8785 else legacy_canonical_json
    return b'{"data":' + payload + b"," + dumps(dict(attributes))[1:].encode()


def jcs_body(payload: bytes, attributes: Mapping[str, Any]) -> bytes:
    """The RFC 8785 definition itself: JCS of the whole event, data parsed from the payload
    with every number an IEEE double, as RFC 8785 reads JSON (and JavaScript does)."""
    return rfc8785.dumps({"data": json.loads(payload, parse_int=float), **attributes})


def link_hash(previous_hash: str | bytes, body: bytes) -> str:
    previous = previous_hash.encode() if isinstance(previous_hash, str) else previous_hash
    return hashlib.sha256(previous + body).hexdigest()


def link_holds(previous_hash: str | bytes, headers: Mapping[str, str], payload: bytes) -> bool:
    """Whether an event's ``ce_hash`` is right given its predecessor's hash.

    RFC 8785 events are checked against the definition (so a payload re-serialized on the
    way, same JSON value, still verifies); legacy events against the bytes as they were
    hashed, with the time as written or as the early producers normalised it.
    """
    claimed = headers.get(ce.H_HASH, "")
    canon = headers.get(ce.H_HASHCANON)
    if canon not in (None, CANON_RFC8785):
        return False  # a canonical form this verifier does not know
    attributes = chain_attributes(headers)
    # The splice is the RFC 8785 form only when the payload is; a legacy payload given the
    # marker must not pass (an auditor with a JCS library would refuse it).
    spliced = link_hash(previous_hash, spliced_body(payload, attributes, canon)) == claimed
    if spliced and (canon is None or payload_is_canonical(payload)):
        return True
    if canon == CANON_RFC8785:
        try:
            return link_hash(previous_hash, jcs_body(payload, attributes)) == claimed
        except ValueError:  # not JSON, or numbers outside I-JSON
            return False
    normalized = chain_attributes(headers, normalize_time=True)
    return link_hash(previous_hash, spliced_body(payload, normalized, None)) == claimed


def signed_message(digest: str, prevhash: str | None) -> bytes:
    """What ``ce_signature`` signs: ``ce_prevhash`` + ``ce_hash`` (128 ASCII hex characters)
    for an event that carries ``ce_prevhash``; ``ce_hash`` alone for events written before.

    Two messages of different lengths: a signature of an event with ``ce_prevhash`` never
    verifies as one of an event without, so stripping the header from a copy (to pass it off
    as written before ``ce_prevhash``, whose hash a reader cannot recompute) voids it."""
    return (digest if prevhash is None else prevhash + digest).encode()


def bound_hash_holds(headers: Mapping[str, str], payload: bytes) -> bool | None:
    """Whether the event's ``ce_hash`` is its hash after its own ``ce_prevhash``: the hash
    covers this event's data and attributes (``link_holds``). None for an event without
    ``ce_prevhash`` (written before it): only its predecessor can tell."""
    prevhash = headers.get(ce.H_PREVHASH)
    if prevhash is None:
        return None
    try:
        return link_holds(prevhash, headers, payload)
    except (KeyError, ValueError):  # an attribute missing or malformed: not this event's hash
        return False
