"""Optional Ed25519 signatures of events' chain hashes (``ce_signature``)."""

from __future__ import annotations

import base64

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ikmkit.outbox import Signer


def signer_from_key(private_key_b64: str) -> Signer:
    key = Ed25519PrivateKey.from_private_bytes(base64.b64decode(private_key_b64))

    def sign(digest: str) -> str:
        return base64.b64encode(key.sign(digest.encode())).decode()

    return sign


def verify_signature(public_key_b64: str, digest: str, signature_b64: str) -> bool:
    key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64))
    try:
        key.verify(base64.b64decode(signature_b64), digest.encode())
    except (InvalidSignature, ValueError):
        return False
    return True
