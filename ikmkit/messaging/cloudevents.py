"""CloudEvents 1.0 Kafka binary binding: the codec lives in ``contracts.codec``.

It moved there so that the ``ikm-contracts`` wheel, which integrating systems install to
consume and verify events, carries the very codec the platform uses; this module keeps
the platform's import path.
"""

from __future__ import annotations

from contracts.chain import canonical_json
from contracts.codec import (
    DecodeError,
    Envelope,
    Headers,
    chain_hash,
    decode,
    decode_attributes,
    envelope_for,
    event_payload,
    header_map,
    sequence_text,
    to_headers,
)

__all__ = [
    "DecodeError",
    "Envelope",
    "Headers",
    "canonical_json",
    "chain_hash",
    "decode",
    "decode_attributes",
    "envelope_for",
    "event_payload",
    "header_map",
    "sequence_text",
    "to_headers",
]
