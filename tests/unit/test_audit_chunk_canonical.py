"""The chunk path's canonical test of many payloads at once (``chain_chunk._canonical``)
says yes exactly when ``quick_canonical`` says yes for every payload.

It serialises the parsed payloads as one array and compares it with the payloads joined;
that holds only because each payload was parsed alone, so payloads that are canonical only
together (split inside a value: ``[1`` + ``2]``) must still be refused.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st
from pydantic_core import to_json

from ikmkit.audit.canonical import quick_canonical
from ikmkit.audit.chain_chunk import _DECLINED, _canonical
from tests.support.canonical_json import JSON_VALUES, writings

_PIECES = st.sampled_from(
    [b"[1", b"2]", b"3,4", b"{}", b'{"a":[{}', b"{}]}", b"{},{}", b"1", b" 1", b"1 ", b'"x"',
     b'{"a":1,"b":2}', b'{"b":1,"a":2}', b'{"a":1.0}', b"", b"null", b'"\xf0\x9f\x98\x80"',
     b'"\xc3\xa9"', b'{"a":"b"', b'}', b"[]", b"[1,2]", b"9007199254740993"]
)  # fmt: skip


def _judged(payloads: list[bytes]) -> bool:
    """``_canonical`` as ``verify_chunk`` takes it: what it raises declines the chunk."""
    try:
        return _canonical(payloads)
    except _DECLINED:
        return False


def _agree(payloads: list[bytes]) -> None:
    assert _judged(payloads) == all(map(quick_canonical, payloads)), payloads


@settings(max_examples=400, deadline=None)
@given(st.lists(_PIECES, min_size=1, max_size=6))
@example([b"[1", b"2]"])
@example([b"[1", b"2]", b"3,4"])
@example([b'{"a":[{}', b"{}]}", b"{},{}"])
@example([b"1", b"2"])
def test_pieces_that_join_into_json_are_judged_one_by_one(payloads: list[bytes]) -> None:
    _agree(payloads)


@settings(max_examples=300, deadline=None)
@given(st.lists(JSON_VALUES, min_size=1, max_size=5), st.data())
def test_values_written_in_several_ways(values: list[Any], data: st.DataObject) -> None:
    payloads = [data.draw(st.sampled_from(writings(v))) for v in values]
    _agree(payloads)


@settings(max_examples=200, deadline=None)
@given(st.lists(JSON_VALUES, min_size=1, max_size=6))
def test_an_array_is_written_as_its_items_joined(values: list[Any]) -> None:
    """The serialiser property the single ``to_json`` call relies on (the compact form of a
    list is its items' compact forms joined by commas, in brackets)."""
    try:
        items = [to_json(v) for v in values]
    except ValueError:
        return
    assert to_json(values) == b"[" + b",".join(items) + b"]"


def test_a_platform_chunk_is_canonical() -> None:
    payloads = [
        json.dumps(
            {"nib": f"{n:013d}", "province": "34", "status": "active"}, separators=(",", ":")
        ).encode()
        for n in range(100)
    ]
    assert _canonical(payloads)
