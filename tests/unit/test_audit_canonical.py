"""The replay's quick RFC 8785 test answers exactly as the definition does.

``ikmkit.audit.canonical.payload_is_canonical`` takes pydantic-core's parser and serialiser
where they cannot differ from JCS and asks ``contracts.chain.payload_is_canonical`` (the
definition auditors run) otherwise; whatever the payload, the answers must be the same,
and the quick test alone must never vouch for a payload JCS would write differently.
"""

from __future__ import annotations

from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from contracts.chain import payload_is_canonical as by_definition
from ikmkit.audit.canonical import payload_is_canonical, quick_canonical
from ikmkit.messaging.cloudevents import event_payload
from tests.support.canonical_json import JSON_VALUES, TEXT, writings
from tests.support.event_samples import every_event


def _agree(payload: bytes) -> None:
    expected = by_definition(payload)
    assert payload_is_canonical(payload) == expected, payload
    if quick_canonical(payload):  # the quick test alone is sound
        assert expected, payload


@settings(max_examples=1500, deadline=None)
@given(JSON_VALUES)
def test_the_quick_test_agrees_with_the_definition(value: Any) -> None:
    for payload in writings(value):
        _agree(payload)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=40) | TEXT.map(lambda t: t.encode("utf-8", "surrogatepass")))
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
