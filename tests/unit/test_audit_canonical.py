"""The replay's quick RFC 8785 test answers exactly as the definition does.

``ikmkit.audit.canonical.payload_is_canonical`` takes pydantic-core's parser and serialiser
where they cannot differ from JCS and asks ``contracts.chain.payload_is_canonical`` (the
definition auditors run) otherwise; whatever the payload, the answers must be the same,
and the quick test alone must never vouch for a payload JCS would write differently.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

import rfc8785
from hypothesis import example, given, settings
from hypothesis import strategies as st

from contracts.chain import payload_is_canonical as by_definition
from ikmkit.audit.canonical import payload_is_canonical, quick_canonical
from ikmkit.messaging.cloudevents import event_payload
from tests.support.event_samples import every_event

_TEXT = st.text(
    st.characters(codec=None, exclude_categories=["Cs"])
    | st.sampled_from(["\x00", "\x1f", "\x7f", '"', "\\", "/", "\u2028", "\ue000", "\U0001f600"])
)
_NUMBER = (
    st.integers(min_value=-(2**60), max_value=2**60)
    | st.sampled_from([2**53 - 1, 2**53, -(2**53) + 1, -(2**53), 10**21, 0])
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from([1.0, -0.0, 1e21, 1e-7, 5e-324, 100.0, 0.1])
)
_JSON = st.recursive(
    st.none() | st.booleans() | _TEXT | _NUMBER,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=5),
    max_leaves=14,
)


def _writings(value: Any) -> list[bytes]:
    """The value written as JCS and as a few near misses."""
    found = []
    with contextlib.suppress(ValueError, rfc8785.CanonicalizationError):
        found.append(rfc8785.dumps(value))
    for options in (
        {"sort_keys": True, "separators": (",", ":"), "ensure_ascii": False},
        {"sort_keys": False, "separators": (",", ":"), "ensure_ascii": False},
        {"sort_keys": True, "separators": (",", ":"), "ensure_ascii": True},
        {"sort_keys": True, "indent": 1, "ensure_ascii": False},
    ):
        found.append(json.dumps(value, **options).encode("utf-8", "surrogatepass"))
    return found


def _agree(payload: bytes) -> None:
    expected = by_definition(payload)
    assert payload_is_canonical(payload) == expected, payload
    if quick_canonical(payload):  # the quick test alone is sound
        assert expected, payload


@settings(max_examples=1500, deadline=None)
@given(_JSON)
def test_the_quick_test_agrees_with_the_definition(value: Any) -> None:
    for payload in _writings(value):
        _agree(payload)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=40) | _TEXT.map(lambda t: t.encode("utf-8", "surrogatepass")))
@example(b'{"a":1,"a":2}')
@example(b'{"b":1,"a":2}')
@example(b'"\\u00e9"')
@example(b'"\\/"')
@example(b'"\\ud83d\\ude00"')
@example(b'"\\ud800"')
@example(b'{"\xee\x80\x80":1,"\xf0\x9f\x98\x80":2}')
@example(b"[1.0]")
@example(b"-0")
@example(b"9007199254740993")
@example(b"1 ")
def test_any_bytes_get_the_definitions_answer(payload: bytes) -> None:
    _agree(payload)


def test_every_platform_payload_takes_the_quick_path() -> None:
    # What makes replay fast: the events the platform writes never reach the JCS library.
    for event in every_event():
        payload = event_payload(event).encode()
        assert quick_canonical(payload), type(event).__name__
