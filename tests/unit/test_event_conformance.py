"""Events conform to CloudEvents 1.0 and its Kafka binding, as third-party code reads them.

The records are the platform's own (the real outbox and the relay's ``row_message``), one
per contract event type; the CloudEvents Python SDK decodes them with its Kafka binding.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from cloudevents.core.bindings import kafka as ce_kafka
from cloudevents.core.formats.json import JSONFormat
from cloudevents.v1 import kafka as ce_kafka_v1

from contracts import envelope as ce
from contracts.catalog import EVENTS_BY_NAME
from contracts.generate import SCHEMAS_DIR
from contracts.registry import EnterpriseVerified
from ikmkit.messaging.cloudevents import DecodeError, decode, envelope_for, to_headers
from tests.support.event_samples import every_event, platform_records


@pytest.fixture(scope="module")
async def records() -> list[dict[str, object]]:
    return await platform_records(every_event())


def _headers(record: dict[str, object]) -> dict[str, bytes]:
    pairs = record["headers"]
    assert isinstance(pairs, list)
    return {name: value.encode() for name, value in pairs}


def _verified(sequence: int) -> list[tuple[str, bytes]]:
    event = EnterpriseVerified(
        nib="1234567890123", province="34", verified_by="officer", verified_at=_AT
    )
    attrs = envelope_for(
        event, id=f"e{sequence}", source="/ikm/registry", time=_AT, sequence=sequence, hash="0"
    )
    return to_headers(attrs)


_AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
_PAYLOAD = (
    b'{"nib":"1234567890123","province":"34",'
    b'"verified_by":"o","verified_at":"2026-01-02T03:04:05Z"}'
)


def test_sequence_values_sort_lexicographically_like_the_numbers_they_carry() -> None:
    # The CloudEvents Sequence extension: "10" must not sort before "9".
    numbers = [1, 2, 9, 10, 11, 99, 100, 1000, 123456789, 2**53 - 1]
    texts = [dict(_verified(n))[ce.H_SEQUENCE].decode() for n in numbers]
    assert sorted(texts) == texts
    assert {len(t) for t in texts} == {ce.SEQUENCE_WIDTH}


def test_older_unpadded_and_new_padded_sequences_decode_to_the_same_number() -> None:
    for written in ("10", "0000000000000010"):
        headers = [(k, written.encode() if k == ce.H_SEQUENCE else v) for k, v in _verified(10)]
        payload = _PAYLOAD
        assert decode(headers, payload).attrs.sequence == 10


@pytest.mark.parametrize(("version", "reason"), [("0.3", "unsupported_specversion"),
                                                 ("1.1", "unsupported_specversion"),
                                                 (None, "missing_header")])  # fmt: skip
def test_a_specversion_other_than_1_0_is_refused_with_a_precise_reason(
    version: str | None, reason: str
) -> None:
    headers = [(k, v) for k, v in _verified(1) if k != ce.H_SPECVERSION]
    if version is not None:
        headers.append((ce.H_SPECVERSION, version.encode()))
    payload = _PAYLOAD
    with pytest.raises(DecodeError) as raised:
        decode(headers, payload)
    assert raised.value.reason == reason
    assert "ce_specversion" in str(raised.value)


async def test_every_event_type_names_its_published_json_schema(
    records: list[dict[str, object]],
) -> None:
    seen = set()
    for record in records:
        headers = _headers(record)
        name = headers[ce.H_TYPE].decode().removeprefix("id.go.kemenperin.ikm.").split(".")[0]
        schema = json.loads((SCHEMAS_DIR / f"{name}.json").read_text())
        assert headers[ce.H_DATASCHEMA].decode() == schema["$id"]
        assert schema["x-cloudevents-type"] == headers[ce.H_TYPE].decode()
        seen.add(name)
    assert seen == set(EVENTS_BY_NAME)


async def test_the_cloudevents_sdk_kafka_binding_decodes_every_event_type(
    records: list[dict[str, object]],
) -> None:
    assert len(records) == len(EVENTS_BY_NAME)
    for record in records:
        headers = _headers(record)
        value = str(record["value"]).encode()
        message = ce_kafka.KafkaMessage(headers=headers, key=str(record["key"]), value=value)
        event = ce_kafka.from_binary(message, JSONFormat())  # validates the attributes
        assert event.get_specversion() == "1.0"
        assert event.get_type() == headers[ce.H_TYPE].decode()
        assert event.get_source() == headers[ce.H_SOURCE].decode()
        assert event.get_subject() == record["key"]
        assert event.get_dataschema() == headers[ce.H_DATASCHEMA].decode()
        assert event.get_datacontenttype() == "application/json"
        assert event.get_data() == json.loads(value)
        sequence = event.get_extension("sequence")
        assert sequence == headers[ce.H_SEQUENCE].decode()
        assert len(sequence) == ce.SEQUENCE_WIDTH and sequence.isdigit()
        assert event.get_extension("hashcanon") == "rfc8785"
        # ce_prevhash: an extension attribute like the others (its name is one the spec allows)
        assert event.get_extension("prevhash") == headers[ce.H_PREVHASH].decode()
        assert len(event.get_extension("prevhash")) == 64
        legacy_api = ce_kafka_v1.from_binary(
            ce_kafka_v1.KafkaMessage(headers, record["key"], value)
        )
        assert legacy_api["id"] == headers[ce.H_ID].decode()
        assert legacy_api.data == json.loads(value)
