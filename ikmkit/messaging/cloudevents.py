"""CloudEvents 1.0 Kafka binary binding: encode events to headers + payload and back.

The payload is the canonical JSON of the event (sorted keys, no whitespace,
UTF-8), so the bytes on the wire are exactly the bytes the hash chain covers.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from contracts import envelope as ce
from contracts.base import Event
from contracts.catalog import model_for
from contracts.envelope import EnvelopeAttributes

Headers = Sequence[tuple[str, bytes]]


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def event_payload(event: Event) -> str:
    return canonical_json(event.model_dump(mode="json"))


def chain_hash(previous_hash: str, attrs: EnvelopeAttributes, payload: str) -> str:
    """``sha256(previous hash + canonical JSON of the event)``.

    "The event" is its identifying attributes plus its data, so a changed id,
    type, time, subject, sequence or payload byte all break the chain.
    """
    body = (
        '{"data":'
        + payload
        + ","
        + canonical_json(
            {
                "id": attrs.id,
                "region": attrs.region,
                "sequence": attrs.sequence,
                "source": attrs.source,
                "subject": attrs.subject,
                "time": attrs.time.isoformat(),
                "type": attrs.type,
            }
        )[1:]
    )
    return hashlib.sha256((previous_hash + body).encode()).hexdigest()


def to_headers(attrs: EnvelopeAttributes) -> list[tuple[str, bytes]]:
    headers = [
        (ce.H_SPECVERSION, ce.SPEC_VERSION.encode()),
        (ce.H_ID, attrs.id.encode()),
        (ce.H_TYPE, attrs.type.encode()),
        (ce.H_SOURCE, attrs.source.encode()),
        (ce.H_TIME, attrs.time.isoformat().encode()),
        (ce.H_SUBJECT, attrs.subject.encode()),
        (ce.H_SEQUENCE, str(attrs.sequence).encode()),
        (ce.H_HASH, attrs.hash.encode()),
        (ce.H_CONTENT_TYPE, ce.CONTENT_TYPE.encode()),
    ]
    if attrs.region is not None:
        headers.append((ce.H_REGION, attrs.region.encode()))
    if attrs.signature is not None:
        headers.append((ce.H_SIGNATURE, attrs.signature.encode()))
    if attrs.traceparent is not None:
        headers.append((ce.H_TRACEPARENT, attrs.traceparent.encode()))
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
    found: dict[str, str] = {}
    for name, value in headers:
        if value is None:
            continue
        try:
            found[name] = value.decode()
        except UnicodeDecodeError:
            found[name] = value.decode("latin-1")
    return found


def decode_attributes(headers: dict[str, str]) -> EnvelopeAttributes:
    content_type = headers.get(ce.H_CONTENT_TYPE, "")
    if content_type.split(";")[0].strip() != ce.CONTENT_TYPE:
        raise DecodeError("wrong_content_type", f"content-type {content_type!r} is not JSON")
    missing = [
        h for h in (ce.H_ID, ce.H_TYPE, ce.H_SOURCE, ce.H_TIME, ce.H_SUBJECT) if h not in headers
    ]
    if missing:
        raise DecodeError("missing_header", f"missing CloudEvents headers: {', '.join(missing)}")
    try:
        return EnvelopeAttributes(
            id=headers[ce.H_ID],
            type=headers[ce.H_TYPE],
            source=headers[ce.H_SOURCE],
            time=datetime.fromisoformat(headers[ce.H_TIME]),
            subject=headers[ce.H_SUBJECT],
            region=headers.get(ce.H_REGION),
            sequence=int(headers.get(ce.H_SEQUENCE, "0")),
            hash=headers.get(ce.H_HASH, ""),
            signature=headers.get(ce.H_SIGNATURE),
            traceparent=headers.get(ce.H_TRACEPARENT),
        )
    except (ValueError, ValidationError) as exc:
        raise DecodeError("invalid_header", str(exc)) from exc


def decode(headers: Iterable[tuple[str, bytes | None]], value: bytes | None) -> Envelope:
    attrs = decode_attributes(header_map(headers))
    model = model_for(attrs.type)
    if model is None:
        raise DecodeError("unknown_event_type", f"no contract for event type {attrs.type!r}")
    try:
        payload = (value or b"").decode()
    except UnicodeDecodeError as exc:
        raise DecodeError("malformed_json", f"payload is not valid JSON: {exc}") from exc
    try:
        # Parsed and validated in one pass (pydantic's JSON mode), not json.loads then validate.
        event = model.model_validate_json(payload)
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
