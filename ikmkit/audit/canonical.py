"""Whether a payload is its own RFC 8785 form, decided at replay speed.

``contracts.chain.payload_is_canonical`` is the definition (standard library + the JCS
library, what an auditor runs); it parses and re-serialises the payload with the ``json``
module, about 4 µs for a typical event, more than the rest of a record's check. The
platform's payloads are JCS already, so a quick test that is *sound* (it says yes only for
canonical payloads) and undecided otherwise costs the replay nothing extra on the events it
meets; anything it cannot vouch for goes to the definition.

The quick test parses with pydantic-core's JSON parser and writes the value back with its
serialiser (both Rust, well under 1 µs): compact, keys in parse order, strings escaped as
RFC 8785 does (only ``"``, ``\\`` and control characters, lowercase hex), integers in
decimal. Where JCS can write something else it declines: any float (JCS writes ES6 numbers),
integers beyond 2**53 (JCS reads every number as an IEEE double), keys out of code point
order, and any character beyond U+FFFF (JCS orders keys by UTF-16 code units, which differ
from code points only there). Equal bytes after that mean the payload is JCS: the property
test in tests/unit/test_audit_canonical.py holds it to the JCS library.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic_core import from_json, to_json

from contracts.chain import payload_is_canonical as canonical_by_definition

_LIMIT = 2**53
_SIMPLE = frozenset((str, bool, type(None)))
_BEYOND_BMP = re.compile(rb"[\xf0-\xff]")  # lead bytes of 4-byte UTF-8 (and invalid ones)


def payload_is_canonical(payload: bytes) -> bool:
    """Exactly ``contracts.chain.payload_is_canonical``, quick on JCS payloads."""
    if quick_canonical(payload):
        return True
    return canonical_by_definition(payload)


def quick_canonical(payload: bytes) -> bool:
    """True only if ``payload`` is RFC 8785 canonical; False means "ask the definition"."""
    if not payload.isascii() and _BEYOND_BMP.search(payload):
        return False
    try:
        value = from_json(payload, allow_inf_nan=False, cache_strings="keys")
    except ValueError:
        return False
    if type(value) is dict:  # an event's payload: the object's level inlined (per-record cost)
        keys = list(value)
        if keys != sorted(keys):
            return False
        members = value.values()
        if not _SIMPLE.issuperset(map(type, members)) and not all(map(_plain_leaf, members)):
            return False
    elif not _plain(value):
        return False
    try:
        return bool(to_json(value) == payload)
    except ValueError:  # pragma: no cover - e.g. a lone surrogate the parser let through
        return False


def _plain(value: Any) -> bool:
    """No floats, no integers JCS would round, every object's keys in code point order."""
    kind = type(value)
    if kind is dict:
        keys = list(value)
        if keys != sorted(keys):
            return False
        members = value.values()
    elif kind is list:
        members = value
    else:
        return _plain_leaf(value)
    # One C-level pass over the member types: a flat object of strings ends here.
    if _SIMPLE.issuperset(map(type, members)):
        return True
    return all(_plain_leaf(v) for v in members)


def _plain_leaf(value: Any) -> bool:
    kind = type(value)
    if kind in _SIMPLE:
        return True
    if kind is int:
        return bool(-_LIMIT < value < _LIMIT)
    if kind is dict or kind is list:
        return _plain(value)
    return False  # float (or anything the parser might return one day)
