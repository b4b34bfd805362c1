"""A page cursor holds the sort keys' values, each a JSON scalar a store can compare: a
tampered cursor holding an object, a list or an integer past 64 bits is ``InvalidCursor``
(the 422 ``invalid.cursor``), never a value handed to the store (SQLite could not bind it:
a 500; MongoDB would compare documents and answer some other page)."""

from __future__ import annotations

import base64
import json

import pytest

from ikmkit.store.keyset import InvalidCursor, decode_cursor, encode_cursor

ORDER = [("start_date", 1), ("id", 1)]


def cursor_of(values: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "values",
    [["2026-01-01", {"a": 1}], [[1], "x"], ["x", 2**63], [-(2**63) - 1, "x"]],
)
def test_a_cursor_value_that_is_no_comparable_scalar_is_refused(values: list[object]) -> None:
    with pytest.raises(InvalidCursor, match="page cursor"):
        decode_cursor(cursor_of(values), ORDER)


def test_scalars_pass_as_they_are() -> None:
    values = ["2026-01-01", 2**63 - 1]
    assert decode_cursor(cursor_of(values), ORDER) == values
    assert decode_cursor(cursor_of([None, 1.5]), ORDER) == [None, 1.5]
    assert decode_cursor(cursor_of([True, "c-1"]), ORDER) == [True, "c-1"]


def test_a_cursor_is_accepted_only_by_the_listing_that_issued_it() -> None:
    """Session 23: an ``/inbox`` cursor (newest first) given to ``/dead`` (oldest first), or
    another collection's with as many sort keys, was read as a position there: some other page,
    often an empty 200. The cursor names the collection and the order (fields, directions)."""
    newest = [("created_at", -1), ("id", 1)]
    oldest = [("created_at", 1), ("id", 1)]
    doc = {"id": "n-1", "created_at": "2026-03-01T08:00:00"}
    cursor = encode_cursor(doc, newest, "notifications")
    assert decode_cursor(cursor, newest, "notifications") == ["2026-03-01T08:00:00", "n-1"]
    for order, listing in ((oldest, "notifications"), (newest, "courses")):
        with pytest.raises(InvalidCursor, match="not issued by this listing"):
            decode_cursor(cursor, order, listing)
    with pytest.raises(InvalidCursor, match="not issued by this listing"):
        decode_cursor(cursor_of(["2026-03-01T08:00:00", "n-1"]), newest, "notifications")
