"""Only a topic's owner may speak on it: the consumer-side check of every event.

An event is accepted only if

- its ``ce_source`` is ``/ikm/<owner>`` where ``<owner>`` is the service that owns
  both the topic it arrived on and the topic its type belongs to (the contract
  catalog, ``contracts.catalog.owner_of``), and it arrived on its type's own topic, and
- when the owner's Ed25519 public key is configured (``event_public_keys``), its
  ``ce_signature`` verifies over its ``ce_hash`` with that key. An owner with a
  key must sign every event: a missing signature is as forged as a wrong one.

What this cannot prove: that ``ce_hash`` is the hash of *this* payload. The hash
chains each event to its predecessor (``sha256(previous hash + event)``) and a
consumer, which sees a stream from wherever its group started and only the event
types it handles, does not know the predecessor. So a consumer proves who signed
the hash (and refuses a signed hash it has already processed under another event
id: ``ikmkit.messaging.consumer``); the hash chain itself (payload integrity, gaps,
replays of a signed hash with other content) is checked by ``ikm audit replay`` over
the whole log.
Kafka ACLs that let each service write only its own topics close the rest.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from nacl.bindings import crypto_sign_open
from nacl.exceptions import CryptoError

from contracts.catalog import owner_of
from contracts.topics import source_of
from ikmkit.messaging.cloudevents import Envelope
from ikmkit.messaging.signing import load_public_key

FORGED = "forged"
"""Dead-letter reason of an event that fails this check."""


@dataclass(frozen=True)
class Verdict:
    """Why an event is not authentic (``FORGED`` is its dead-letter reason)."""

    detail: str
    reason: str = FORGED


class Authenticity:
    """Checks that events come from their topic's owner, signed if the owner has a key."""

    def __init__(self, public_keys: Mapping[str, str] | None = None) -> None:
        self._keys: dict[str, bytes] = {}
        for service, key in (public_keys or {}).items():
            try:
                loaded = load_public_key(key)
            except ValueError as exc:
                raise ValueError(f"event public key of {service!r}: {exc}") from exc
            self._keys[service] = loaded.public_bytes(Encoding.Raw, PublicFormat.Raw)

    @property
    def services_with_keys(self) -> frozenset[str]:
        return frozenset(self._keys)

    def check(self, topic: str, envelope: Envelope) -> Verdict | None:
        """None if ``envelope`` (read from ``topic``) is authentic, else why not."""
        attrs = envelope.attrs
        owner = owner_of(type(envelope.event).TOPIC)
        if owner is None:  # a contract event always has an owner; be safe if not
            return Verdict(f"no owner for {attrs.type} in the contract catalog")
        arrived_on = owner_of(topic)
        if arrived_on is not None and arrived_on != owner:
            return Verdict(f"{attrs.type} belongs to {owner}, not on {topic}")
        if arrived_on is not None and topic != type(envelope.event).TOPIC:
            # The owner publishes each type on its one topic (ordered there by aggregate):
            # a copy on another of its topics is someone else's doing.
            return Verdict(
                f"{attrs.type} is published on {type(envelope.event).TOPIC}, not {topic}"
            )
        if attrs.source != source_of(owner):
            return Verdict(
                f"ce_source {_shown(attrs.source)} is not {source_of(owner)}, owner of {topic}"
            )
        key = self._keys.get(owner)
        if key is None:
            return None
        if not attrs.signature:
            return Verdict(f"{owner} signs its events; this one has no ce_signature")
        if not _verifies(key, attrs.hash, attrs.signature):
            return Verdict(f"ce_signature does not verify with {owner}'s public key")
        return None


def _verifies(public_key: bytes, digest: str, signature_b64: str) -> bool:
    """Whether ``signature_b64`` is ``public_key``'s Ed25519 signature of ``digest``.

    libsodium (PyNaCl) rather than OpenSSL (``signing.verify_with``): ~40 µs instead of ~85 µs
    per event, for every event of an owner with a key. Accepts what OpenSSL accepts for
    signatures the platform makes (``tests/unit/test_authenticity_sodium.py``)."""
    try:
        signature = base64.b64decode(signature_b64, validate=True)
    except (binascii.Error, ValueError):
        return False
    if len(signature) != 64:  # sodium reads signature || message: the split must be ours
        return False
    message = digest.encode()
    try:
        return bool(crypto_sign_open(signature + message, public_key) == message)
    except (CryptoError, ValueError, TypeError):
        return False


def _shown(value: str) -> str:
    """A header value quoted for an error message, bounded (it is attacker-controlled)."""
    return repr(value if len(value) <= 80 else value[:80] + "...")
