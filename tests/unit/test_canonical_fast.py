"""The outbox's fast RFC 8785 path writes exactly what the definition writes.

``ikmkit.messaging.cloudevents`` writes an event's canonical JSON with orjson (sorted keys)
where that is provably JCS (dicts with string keys, lists, strings, booleans, None, integers
within ±(2**53 - 1), no character beyond U+FFFF) and asks ``contracts`` (the code auditors
run) otherwise. The payloads, chain hashes and headers the outbox stamps must stay
byte-identical to ``contracts.codec``'s, and the quick path must never vouch for a value JCS
would write differently.
"""

from __future__ import annotations

import contextlib
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import rfc8785
from hypothesis import example, given, settings
from hypothesis import strategies as st

from contracts import codec
from contracts.base import Event
from contracts.chain import CANON_RFC8785, link_hash, signed_message, spliced_body
from contracts.envelope import GENESIS_HASH
from ikmkit.messaging.cloudevents import (
    canonical_json,
    chain_hash,
    chain_hash_of,
    event_payload,
    header_text,
    quick_canonical,
)
from ikmkit.messaging.outbox import Outbox, event_ids
from tests.support.event_samples import every_event

_TEXT = st.text(
    st.characters(codec=None, exclude_categories=["Cs"])
    | st.sampled_from(["\x00", "\x1f", "\x7f", '"', "\\", "/", "\u2028", "\ue000", "\U0001f600"])
)
_NUMBER = (
    st.integers(min_value=-(2**70), max_value=2**70)
    | st.sampled_from([2**53 - 1, 2**53, -(2**53) + 1, -(2**53), 2**64, 10**21, 0])
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from([1.0, -0.0, 1e21, 1e-7, 5e-324, 100.0, 0.1])
)
_JSON = st.recursive(
    st.none() | st.booleans() | _TEXT | _NUMBER,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=5),
    max_leaves=14,
)


def jcs(value: Any) -> str | None:
    """The definition: the JCS library's form, None where it refuses the value."""
    try:
        return rfc8785.dumps(value).decode()
    except (ValueError, rfc8785.CanonicalizationError):
        return None


@settings(max_examples=600, deadline=None)
@given(_JSON)
@example({"\ufb33": 3, "\U0001f600": 2, "\u20ac": 1})  # keys ordered by UTF-16, not code point
@example({"amount": 1.0, "n": 2**53 - 1})
@example(["\ud800"])  # a lone surrogate
def test_quick_form_is_jcs_or_undecided(value: Any) -> None:
    quick = quick_canonical(value)
    expected = jcs(value)
    if quick is not None:
        assert quick.decode() == expected
    written: str | None = None
    with contextlib.suppress(ValueError):
        written = canonical_json(value)
    assert written == expected


def test_every_bmp_character_is_escaped_as_jcs_escapes_it() -> None:
    chars = [chr(c) for c in range(0x10000) if not 0xD800 <= c <= 0xDFFF]
    for start in range(0, len(chars), 4096):
        block = "".join(chars[start : start + 4096])
        document = {block: [block, {"k": block}], "n": -(2**53) + 1}
        quick = quick_canonical(document)
        assert quick is not None
        assert quick.decode() == jcs(document)


@pytest.mark.parametrize(
    "value",
    [
        {"a": 1.0},
        {"a": 2**53},
        {"a": -(2**53)},
        {"a": ("t", "u")},
        {1: "int key"},
        {"a": "\U0001f600"},
        {"\U0001f600": 1},
        {"a": "\ud83d"},
        {"a": datetime(2026, 1, 1, tzinfo=UTC)},
        {"a": uuid.UUID(int=1)},
    ],
)
def test_the_quick_path_declines_what_it_cannot_vouch_for(value: Any) -> None:
    assert quick_canonical(value) is None


def test_every_platform_event_takes_the_quick_path_to_the_same_payload() -> None:
    for event in every_event():
        assert quick_canonical(event.model_dump(mode="json")) is not None, type(event).__name__
        assert event_payload(event) == codec.event_payload(event)


def _by_definition(
    event: Event, outbox: Outbox, previous: str, sequence: int, at: datetime, event_id: str
) -> codec.EnvelopeAttributes:
    unsigned = codec.envelope_for(
        event, id=event_id, source=outbox.source, time=at, sequence=sequence, hash="",
        traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", prevhash=previous,
    )  # fmt: skip
    digest = codec.chain_hash(previous, unsigned, codec.event_payload(event))
    signed = signed_message(digest, previous).decode()  # ce_prevhash + ce_hash
    return unsigned.model_copy(update={"hash": digest, "signature": f"signed:{signed}"})


WIB = timezone(timedelta(hours=7))


@pytest.mark.parametrize(
    "at", [datetime(2026, 3, 1, 8, 0, 0, 123456, tzinfo=UTC), datetime(2026, 3, 1, 15, tzinfo=WIB)]
)
def test_the_outbox_stamps_what_the_codec_defines(at: datetime) -> None:
    outbox = Outbox("urn:ikm:test", signer=lambda digest: f"signed:{digest}")
    previous = "ab" * 32
    for sequence, event in enumerate(every_event(), start=1):
        payload = event_payload(event)
        event_id = str(uuid.uuid4())
        attrs = outbox._chained_envelope(
            event, payload, sequence, previous if sequence > 1 else GENESIS_HASH, event_id, at,
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        )  # fmt: skip
        expected = _by_definition(
            event, outbox, previous if sequence > 1 else GENESIS_HASH, sequence, at, event_id
        )
        assert attrs == expected
        assert chain_hash(previous, attrs, payload) == codec.chain_hash(previous, attrs, payload)
        assert header_text(attrs) == {k: v.decode() for k, v in codec.to_headers(attrs)}
        assert list(header_text(attrs)) == [k for k, _ in codec.to_headers(attrs)]


def test_attributes_the_quick_path_declines_hash_as_the_codec_does() -> None:
    event = every_event()[0]
    outbox = Outbox("urn:ikm:\U0001f600")  # beyond the BMP: JCS orders it itself
    at = datetime(2026, 3, 1, tzinfo=UTC)
    payload = event_payload(event)
    attrs = outbox._chained_envelope(event, payload, 2, "cd" * 32, "e-1", at, None)
    unsigned = codec.envelope_for(event, id="e-1", source=outbox.source, time=at, sequence=2,
                                  hash="", traceparent=None)  # fmt: skip
    assert attrs.hash == codec.chain_hash("cd" * 32, unsigned, payload)


def test_event_ids_are_uuid4_texts() -> None:
    ids = event_ids(2000)
    assert len(set(ids)) == 2000
    for text in ids:
        parsed = uuid.UUID(text)
        assert (parsed.version, parsed.variant, str(parsed)) == (4, uuid.RFC_4122, text)


_TEXT = st.text(max_size=12) | st.sampled_from(['\u2028\u2029\x7f\x00\x1f"\\', "\U0001f600é"])


@settings(max_examples=400, deadline=None)
@given(
    st.fixed_dictionaries(
        {
            "id": _TEXT,
            "region": st.none() | _TEXT,
            "sequence": st.integers(min_value=-(2**54), max_value=2**54) | st.booleans(),
            "source": _TEXT,
            "subject": _TEXT,
            "time": _TEXT,
            "type": _TEXT,
        }
    )
)
@example(
    {"id": "\ud800", "region": None, "sequence": 1, "source": "s", "subject": "s", "time": "t",
     "type": "t"}
)  # fmt: skip
def test_the_chain_hash_of_any_attributes_is_the_definitions(attributes: dict[str, Any]) -> None:
    """The outbox's and the consumer's chain hash (its quick path for the seven attributes:
    any text beyond U+FFFF, control characters, U+2028, a lone surrogate, a bool or an integer
    beyond 2**53 as the sequence) is ``contracts.chain``'s RFC 8785 one, or refuses as it does."""
    payload = b'{"a":1}'
    try:
        expected = link_hash("ab" * 32, spliced_body(payload, attributes, CANON_RFC8785))
    except ValueError:
        with pytest.raises(ValueError):
            chain_hash_of("ab" * 32, attributes, payload)
        return
    assert chain_hash_of("ab" * 32, attributes, payload) == expected
