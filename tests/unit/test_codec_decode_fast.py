"""``decode`` on the consumers' hot path: the event validated by its model's validator
directly must give what ``model_validate_json`` gives, and refuse what it refuses.

(An ``Envelope`` built by setting its ``__dict__`` at once was tried and dropped: 0.4 µs
cheaper to make, but the materialized instance dict made every later read and its freeing
dearer, ~1.2 µs per event in all: docs/performance.md, "Insights consumers".)"""

from __future__ import annotations

import random

import pytest
from pydantic import BaseModel

from bench._insights_enterprises import Envelopes
from bench._insights_mix import event_mix
from contracts.codec import DecodeError, Envelope, decode
from contracts.registry import EnterpriseRegistered

RECORDS = [Envelopes().record(e) for e in event_mix(random.Random(5))[::97]]


def test_the_same_envelopes_as_the_models_give() -> None:
    types: set[type[BaseModel]] = set()
    for _, _, payload, headers in RECORDS:
        env = decode(headers, payload)
        model = type(env.event)
        types.add(model)
        slow = Envelope(
            attrs=env.attrs, event=model.model_validate_json(payload), payload=env.payload
        )
        assert env == slow
        assert list(env.event.__dict__.items()) == list(slow.event.__dict__.items())
        assert env.event.model_fields_set == slow.event.model_fields_set
        assert env.payload == payload.decode()
        with pytest.raises(AttributeError):
            env.payload = ""  # type: ignore[misc]
    assert len(types) >= 8  # the mix's event types, not one of them


def test_the_model_wrapper_is_not_paid_per_event(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    wrapper = EnterpriseRegistered.model_validate_json

    def counted(data: str | bytes, **options: object) -> EnterpriseRegistered:
        calls.append("wrapper")
        return wrapper(data, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(EnterpriseRegistered, "model_validate_json", counted)
    _, _, payload, headers = next(r for r in RECORDS if b'"owner"' in r[2])
    assert isinstance(decode(headers, payload).event, EnterpriseRegistered)
    assert calls == []


@pytest.mark.parametrize(
    ("payload", "reason", "detail"),
    [
        (b"{", "malformed_json", "payload is not valid JSON"),
        (b"\xff", "malformed_json", "payload is not valid JSON"),
        (b"{}", "contract_violation", "EnterpriseRegistered: nib: Field required"),
        (b"[]", "contract_violation", "EnterpriseRegistered: <root>: Input should be"),
    ],
)
def test_the_same_refusals(payload: bytes, reason: str, detail: str) -> None:
    _, _, _, headers = next(r for r in RECORDS if b'"owner"' in r[2])
    with pytest.raises(DecodeError) as refused:
        decode(headers, payload)
    assert refused.value.reason == reason
    assert refused.value.detail.startswith(detail)
