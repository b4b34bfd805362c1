"""The replay's header unpacking gives exactly what ``dict(headers)`` gives, on any layout."""

from __future__ import annotations

import itertools

import pytest

from contracts import envelope as ce
from ikmkit.audit.chain_body import chain_fields

PLATFORM = [
    (ce.H_SPECVERSION, b"1.0"),
    (ce.H_ID, b"id-1"),
    (ce.H_TYPE, b"t"),
    (ce.H_SOURCE, b"/ikm/registry"),
    (ce.H_TIME, b"2026-01-01T00:00:00+00:00"),
    (ce.H_SUBJECT, b"s"),
    (ce.H_SEQUENCE, b"0000000000000001"),
    (ce.H_HASH, b"ab" * 32),
    (ce.H_CONTENT_TYPE, b"application/json"),
    (ce.H_DATASCHEMA, b"urn:x"),
    (ce.H_HASHCANON, b"rfc8785"),
    (ce.H_REGION, b"34"),
]


def by_dict(headers: list[tuple[str, bytes | None]]) -> tuple[object, ...] | None:
    raw = dict(headers)
    names = (ce.H_ID, ce.H_SOURCE, ce.H_SUBJECT, ce.H_TIME, ce.H_TYPE, ce.H_SEQUENCE, ce.H_HASH)
    if any(n not in raw for n in names):
        return None
    return (*(raw[n] for n in names), raw.get(ce.H_HASHCANON), raw.get(ce.H_REGION))


def layouts() -> list[list[tuple[str, bytes | None]]]:
    """The platform's layout and its variants: optional headers absent, a traceparent or
    a signature, duplicates (a forger's second ce_hash or ce_region, later wins in a dict),
    reordered, None values, a required header missing."""
    found: list[list[tuple[str, bytes | None]]] = [
        PLATFORM,
        PLATFORM[:9],
        PLATFORM[:10],
        [*PLATFORM, (ce.H_TRACEPARENT, b"00-ab-cd-01")],
        [*PLATFORM, (ce.H_SIGNATURE, b"sig")],
        [*PLATFORM, (ce.H_HASH, b"cd" * 32)],
        [*PLATFORM, (ce.H_REGION, b"35")],
        [*PLATFORM, (ce.H_ID, b"id-2")],
        [*PLATFORM, ("x-other", b"1")],
        [(ce.H_ID, b"id-0"), *PLATFORM],
        [PLATFORM[1], PLATFORM[0], *PLATFORM[2:]],
        [*PLATFORM[:9], (ce.H_REGION, None), (ce.H_HASHCANON, None)],
        [*PLATFORM[:7], (ce.H_HASH, None), *PLATFORM[8:]],
        PLATFORM[:5] + PLATFORM[6:],
        PLATFORM[:4],
        [],
    ]
    found += [list(p) for p in itertools.islice(itertools.permutations(PLATFORM[8:]), 24)]
    return found


@pytest.mark.parametrize("headers", layouts())
def test_chain_fields_are_the_dicts(headers: list[tuple[str, bytes | None]]) -> None:
    assert chain_fields(headers) == by_dict(headers)  # type: ignore[arg-type]


def test_a_tuple_of_headers_reads_the_same() -> None:
    assert chain_fields(tuple(PLATFORM)) == by_dict(PLATFORM)
