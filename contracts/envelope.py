"""The CloudEvents 1.0 envelope as it travels in Kafka headers (binary content mode).

Header names follow the CloudEvents Kafka protocol binding: every context
attribute is a header ``ce_<attribute>``; ``content-type`` carries the data's
media type; the Kafka message key is the aggregate id (= ``ce_subject``).

Extension attributes defined by this platform:

- ``ce_region``: the province code (Kemendagri, 2 digits) the event concerns, if any;
- ``ce_sequence``: the CloudEvents Sequence extension: the aggregate's sequence number, 1, 2,
  3 ... without gaps, zero-padded to ``SEQUENCE_WIDTH`` digits so that the values sort
  lexicographically as the extension requires (events written before that carry unpadded
  numbers; readers parse both as decimal integers);
- ``ce_hash``: ``sha256(previous hash + canonical JSON of the event)`` per aggregate,
  hex-encoded, making each aggregate's stream tamper-evident (``contracts.chain``);
- ``ce_hashcanon``: ``rfc8785`` when that canonical JSON is RFC 8785 (JCS); absent on events
  hashed before the change (legacy sorted-keys JSON);
- ``ce_prevhash``: the ``ce_hash`` of the aggregate's previous event on the topic
  (``GENESIS_HASH`` for the first), so that anyone can recompute ``ce_hash`` from this one
  event (``contracts.chain.bound_hash_holds``); absent on events written before it;
- ``ce_signature``: optional Ed25519 signature (base64) by the source service of
  ``ce_prevhash`` + ``ce_hash`` (128 ASCII hex characters), or of ``ce_hash`` alone on events
  without ``ce_prevhash`` (``contracts.chain.signed_message``).

``ce_dataschema`` (a core attribute) is the ``$id`` of the event type's published JSON Schema,
``urn:ikm:contract:<Event>:v<N>`` (``contracts.schema.dataschema_of``).

W3C trace context travels in the ``traceparent`` header.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/json"

H_ID = "ce_id"
H_TYPE = "ce_type"
H_SOURCE = "ce_source"
H_TIME = "ce_time"
H_SUBJECT = "ce_subject"
H_SPECVERSION = "ce_specversion"
H_DATASCHEMA = "ce_dataschema"
H_REGION = "ce_region"
H_SEQUENCE = "ce_sequence"
H_HASH = "ce_hash"
H_HASHCANON = "ce_hashcanon"
H_PREVHASH = "ce_prevhash"
H_SIGNATURE = "ce_signature"
H_CONTENT_TYPE = "content-type"
H_TRACEPARENT = "traceparent"

SEQUENCE_WIDTH = 16
"""Digits of ``ce_sequence``: 2**53 - 1, the largest sequence an RFC 8785 hash holds, has 16."""

GENESIS_HASH = "0" * 64
"""The 'previous hash' of an aggregate's first event."""


class EnvelopeAttributes(BaseModel):
    """CloudEvent context attributes of one event, without its data."""

    model_config = ConfigDict(frozen=True)

    id: str
    type: str
    source: str
    time: datetime
    subject: str
    region: str | None = None
    sequence: int
    hash: str
    signature: str | None = None
    traceparent: str | None = None
    dataschema: str | None = None
    hashcanon: str | None = None
    """The hash's canonical JSON (``contracts.chain.CANON_RFC8785``); None: legacy."""
    prevhash: str | None = None
    """The predecessor's ``ce_hash`` (``ce_prevhash``); None on events written before it."""
