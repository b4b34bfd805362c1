"""CloudEvents 1.0 Kafka binary binding: encode events to headers + payload and back.

The payload is the RFC 8785 canonical JSON of the event's data (UTF-8), so the bytes on
the wire are exactly the bytes the hash chain covers (``contracts.chain``). Part of the
``ikm-contracts`` wheel: an integrating system decodes the platform's records with it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from contracts import envelope as ce
from contracts.base import Event, as_validated
from contracts.catalog import model_for
from contracts.chain import (
    CANON_RFC8785,
    canonical_json,
    chain_attributes,
    link_hash,
    parse_sequence,
    spliced_body,
)
from contracts.envelope import EnvelopeAttributes
from contracts.schema import dataschema_of

Headers = Sequence[tuple[str, bytes]]


class UnrepresentableEvent(ValueError):
    """The event holds a value RFC 8785 (I-JSON) cannot carry exactly, e.g. 2**53."""


def event_payload(event: Event) -> str:
    try:
        return canonical_json(event.model_dump(mode="json"))
    except ValueError as exc:  # rfc8785's domain errors; nothing is published rounded
        raise UnrepresentableEvent(
            f"{type(event).__name__} cannot be written as RFC 8785 JSON "
            f"(integers must lie within ±(2**53 - 1)): {type(exc).__name__}"
        ) from exc


def sequence_text(sequence: int) -> str:
    """``ce_sequence``: zero-padded, so values sort as numbers (CloudEvents Sequence)."""
    return str(sequence).zfill(ce.SEQUENCE_WIDTH)


def chain_hash(previous_hash: str, attrs: EnvelopeAttributes, payload: str) -> str:
    """``sha256(previous hash + canonical JSON of the event)`` in ``attrs.hashcanon``'s form.

    "The event" is its identifying attributes plus its data, so a changed id,
    type, time, subject, sequence or payload byte all break the chain.
    """
    body = spliced_body(payload.encode(), hashed_attributes(attrs), attrs.hashcanon)
    return link_hash(previous_hash, body)


def hashed_attributes(attrs: EnvelopeAttributes) -> dict[str, object]:
    """What the chain hash covers besides the data."""
    return {
        "id": attrs.id,
        "region": attrs.region,
        "sequence": attrs.sequence,
        "source": attrs.source,
        "subject": attrs.subject,
        "time": attrs.time.isoformat(),
        "type": attrs.type,
    }


def envelope_for(event: Event, **attributes: object) -> EnvelopeAttributes:
    """The attributes every new event of this type carries, plus the given ones."""
    return EnvelopeAttributes.model_validate(
        {
            "type": event.ce_type(),
            "subject": event.aggregate_id(),
            "region": event.region(),
            "dataschema": dataschema_of(type(event)),
            "hashcanon": CANON_RFC8785,
            **attributes,
        }
    )


def to_headers(attrs: EnvelopeAttributes) -> list[tuple[str, bytes]]:
    headers = [
        (ce.H_SPECVERSION, ce.SPEC_VERSION.encode()),
        (ce.H_ID, attrs.id.encode()),
        (ce.H_TYPE, attrs.type.encode()),
        (ce.H_SOURCE, attrs.source.encode()),
        (ce.H_TIME, attrs.time.isoformat().encode()),
        (ce.H_SUBJECT, attrs.subject.encode()),
        (ce.H_SEQUENCE, sequence_text(attrs.sequence).encode()),
        (ce.H_HASH, attrs.hash.encode()),
        (ce.H_CONTENT_TYPE, ce.CONTENT_TYPE.encode()),
    ]
    optional = (
        (ce.H_DATASCHEMA, attrs.dataschema),
        (ce.H_HASHCANON, attrs.hashcanon),
        (ce.H_REGION, attrs.region),
        (ce.H_PREVHASH, attrs.prevhash),
        (ce.H_SIGNATURE, attrs.signature),
        (ce.H_TRACEPARENT, attrs.traceparent),
    )
    headers += [(name, value.encode()) for name, value in optional if value is not None]
    return headers


class DecodeError(Exception):
    """The message cannot become a contract event; ``reason`` is a stable code."""

    def __init__(self, reason: str, detail: str) -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}")


@dataclass(frozen=True)
class Envelope:
    attrs: EnvelopeAttributes
    event: Event
    payload: str


def header_map(headers: Iterable[tuple[str, bytes | None]]) -> dict[str, str]:
    """Header values as text: UTF-8, or Latin-1 where a value is not UTF-8 (still readable)."""
    try:  # the common case, in one pass
        return {name: value.decode() for name, value in headers if value is not None}
    except UnicodeDecodeError:
        pass
    found: dict[str, str] = {}
    for name, value in headers:
        if value is None:
            continue
        try:
            found[name] = value.decode()
        except UnicodeDecodeError:
            found[name] = value.decode("latin-1")
    return found


_REQUIRED = (ce.H_SPECVERSION, ce.H_ID, ce.H_TYPE, ce.H_SOURCE, ce.H_TIME, ce.H_SUBJECT)
_REQUIRED_SET = frozenset(_REQUIRED)


def _check_binding(headers: dict[str, str]) -> None:
    """A CloudEvents 1.0 JSON event in binary mode, with the attributes the platform needs."""
    content_type = headers.get(ce.H_CONTENT_TYPE, "")
    if content_type.split(";")[0].strip() != ce.CONTENT_TYPE:
        raise DecodeError("wrong_content_type", f"content-type {content_type!r} is not JSON")
    if not headers.keys() >= _REQUIRED_SET:
        missing = [h for h in _REQUIRED if h not in headers]
        raise DecodeError("missing_header", f"missing CloudEvents headers: {', '.join(missing)}")
    version = headers[ce.H_SPECVERSION]
    if version != ce.SPEC_VERSION:
        raise DecodeError(
            "unsupported_specversion",
            f"ce_specversion {version[:20]!r} is not {ce.SPEC_VERSION!r}",
        )


def decode_attributes(headers: dict[str, str]) -> EnvelopeAttributes:
    values = _attribute_values(headers)
    try:
        return EnvelopeAttributes.model_validate(values)
    except ValidationError as exc:
        raise DecodeError("invalid_header", str(exc)) from exc


_ATTRIBUTE_FIELDS = tuple(EnvelopeAttributes.model_fields)


def _attributes_of_text(headers: dict[str, str]) -> EnvelopeAttributes:
    """``decode_attributes`` of ``header_map``'s output, without pydantic re-checking it.

    Every value is already of its field's type (text from ``header_map``, the time from
    ``datetime.fromisoformat``, the sequence from ``parse_sequence``), so validation would
    only copy them; this builds the model ``model_validate`` builds (same ``__dict__`` in
    field order, same ``model_fields_set``: ``tests/unit/test_codec_fast_attributes.py``)
    at a fraction of the cost. Same checks, same ``DecodeError`` reasons."""
    return as_validated(EnvelopeAttributes, _attribute_values(headers), set(_ATTRIBUTE_FIELDS))


def _attribute_values(headers: dict[str, str]) -> dict[str, Any]:
    """The envelope's attributes from the binding's headers, in the model's field order."""
    _check_binding(headers)
    get = headers.get
    try:
        return {
            "id": headers[ce.H_ID],
            "type": headers[ce.H_TYPE],
            "source": headers[ce.H_SOURCE],
            "time": datetime.fromisoformat(headers[ce.H_TIME]),
            "subject": headers[ce.H_SUBJECT],
            "region": get(ce.H_REGION),
            "sequence": parse_sequence(get(ce.H_SEQUENCE, "0")),
            "hash": get(ce.H_HASH, ""),
            "signature": get(ce.H_SIGNATURE),
            "traceparent": get(ce.H_TRACEPARENT),
            "dataschema": get(ce.H_DATASCHEMA),
            "hashcanon": get(ce.H_HASHCANON),
            "prevhash": get(ce.H_PREVHASH),
        }
    except ValueError as exc:
        raise DecodeError("invalid_header", str(exc)) from exc


def decode(headers: Iterable[tuple[str, bytes | None]], value: bytes | None) -> Envelope:
    attrs = _attributes_of_text(header_map(headers))
    model = model_for(attrs.type)
    if model is None:
        raise DecodeError("unknown_event_type", f"no contract for event type {attrs.type!r}")
    try:
        payload = (value or b"").decode()
    except UnicodeDecodeError as exc:
        raise DecodeError("malformed_json", f"payload is not valid JSON: {exc}") from exc
    try:
        # Parsed and validated in one pass (pydantic's JSON mode), not json.loads then validate;
        # by the model's validator itself, what ``model_validate_json`` calls with its defaults.
        event = model.__pydantic_validator__.validate_json(payload)
    except ValidationError as exc:
        if any(err["type"] == "json_invalid" for err in exc.errors()):
            detail = exc.errors()[0]["msg"]
            raise DecodeError("malformed_json", f"payload is not valid JSON: {detail}") from exc
        fields = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}"
            for err in exc.errors()
        )
        raise DecodeError("contract_violation", f"{model.__name__}: {fields}") from exc
    return Envelope(attrs=attrs, event=event, payload=payload)


__all__ = [
    "DecodeError",
    "Envelope",
    "Headers",
    "UnrepresentableEvent",
    "chain_attributes",
    "chain_hash",
    "decode",
    "decode_attributes",
    "envelope_for",
    "event_payload",
    "hashed_attributes",
    "header_map",
    "sequence_text",
    "to_headers",
]
