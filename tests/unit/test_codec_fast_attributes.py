"""``decode`` builds the envelope's attributes without pydantic re-checking values that are
already of their types: the model must be the very one ``model_validate`` gives."""

from __future__ import annotations

import pytest

from contracts import envelope as ce
from contracts.codec import DecodeError, _attributes_of_text, decode_attributes

BASE = {
    ce.H_SPECVERSION: "1.0",
    ce.H_ID: "e-1",
    ce.H_TYPE: "id.go.kemenperin.ikm.EnterpriseRegistered.v1",
    ce.H_SOURCE: "/ikm/registry",
    ce.H_TIME: "2026-12-01T20:15:08.593413+00:00",
    ce.H_SUBJECT: "7000000000000",
    ce.H_CONTENT_TYPE: "application/json",
}
FULL = {
    **BASE,
    ce.H_SEQUENCE: "0000000000000007",
    ce.H_HASH: "ab" * 32,
    ce.H_REGION: "62",
    ce.H_SIGNATURE: "c2ln",
    ce.H_TRACEPARENT: "00-" + "1" * 32 + "-" + "2" * 16 + "-01",
    ce.H_DATASCHEMA: "urn:ikm:contract:EnterpriseRegistered:v1",
    ce.H_HASHCANON: "rfc8785",
}


@pytest.mark.parametrize("headers", [BASE, FULL, {**FULL, ce.H_TIME: "2026-12-01T20:15:08"}])
def test_the_same_model_as_validation_gives(headers: dict[str, str]) -> None:
    fast, checked = _attributes_of_text(dict(headers)), decode_attributes(dict(headers))
    assert fast == checked
    assert list(fast.__dict__.items()) == list(checked.__dict__.items())
    assert fast.model_fields_set == checked.model_fields_set
    assert fast.model_dump(mode="json") == checked.model_dump(mode="json")
    assert fast.model_dump(exclude_unset=True) == checked.model_dump(exclude_unset=True)
    assert hash(fast.model_dump_json()) == hash(checked.model_dump_json())
    with pytest.raises(Exception, match="frozen"):
        fast.id = "other"  # type: ignore[misc]
    copied = fast.model_copy(update={"hash": "cd" * 32})
    assert copied.hash == "cd" * 32 and fast.hash == checked.hash


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({ce.H_TIME: "yesterday"}, "invalid_header"),
        ({ce.H_SEQUENCE: "+2"}, "invalid_header"),
        ({ce.H_SPECVERSION: "0.3"}, "unsupported_specversion"),
        ({ce.H_CONTENT_TYPE: "text/plain"}, "wrong_content_type"),
    ],
)
def test_the_same_refusals(change: dict[str, str], reason: str) -> None:
    for decoder in (_attributes_of_text, decode_attributes):
        with pytest.raises(DecodeError) as refused:
            decoder({**FULL, **change})
        assert refused.value.reason == reason
