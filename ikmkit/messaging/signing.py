"""Ed25519 signatures of events' chain hashes (``ce_signature``).

The outbox signs each event's ``ce_prevhash`` + ``ce_hash`` (``contracts.chain.signed_message``;
``ce_hash`` alone before ``ce_prevhash``) when the service has an ``event_signing_key``;
consumers (``ikmkit.messaging.authenticity``) and the audit verify it with the producer's
public key. Keys travel as base64 of the raw 32 bytes.
"""

from __future__ import annotations

import base64
import binascii

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ikmkit.messaging.outbox import Signer


def signer_from_key(private_key_b64: str) -> Signer:
    key = Ed25519PrivateKey.from_private_bytes(base64.b64decode(private_key_b64))

    def sign(digest: str) -> str:
        return base64.b64encode(key.sign(digest.encode())).decode()

    return sign


def load_public_key(public_key_b64: str) -> Ed25519PublicKey:
    """The key, or ValueError naming what is wrong with it (never the key itself)."""
    try:
        raw = base64.b64decode(public_key_b64, validate=True)
    except binascii.Error as exc:
        raise ValueError("public key is not valid base64") from exc
    if len(raw) != 32:
        raise ValueError(f"public key has {len(raw)} bytes, an Ed25519 key has 32")
    return Ed25519PublicKey.from_public_bytes(raw)


def verify_with(key: Ed25519PublicKey, digest: str, signature_b64: str) -> bool:
    try:
        key.verify(base64.b64decode(signature_b64, validate=True), digest.encode())
    except (InvalidSignature, ValueError):  # binascii.Error is a ValueError
        return False
    return True


def verify_signature(public_key_b64: str, digest: str, signature_b64: str) -> bool:
    return verify_with(load_public_key(public_key_b64), digest, signature_b64)


def generate_keypair() -> tuple[str, str]:
    """A fresh (private, public) key pair, both base64 of the raw 32 bytes."""
    key = Ed25519PrivateKey.generate()
    private = base64.b64encode(key.private_bytes_raw()).decode()
    return private, public_key_of(private)


def public_key_of(private_key_b64: str) -> str:
    key = Ed25519PrivateKey.from_private_bytes(base64.b64decode(private_key_b64))
    raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return base64.b64encode(raw).decode()
