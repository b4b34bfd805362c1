"""The consumer's Ed25519 check (libsodium) agrees with the platform's OpenSSL one
(``ikmkit.messaging.signing.verify_with``) on every case that matters: valid, wrong key,
other digest, garbled, truncated, padded, non-canonical and non-base64 signatures."""

from __future__ import annotations

import base64

import pytest

from ikmkit.messaging.authenticity import _verifies
from ikmkit.messaging.signing import generate_keypair, load_public_key, signer_from_key, verify_with

PRIVATE, PUBLIC = generate_keypair()
_, OTHER_PUBLIC = generate_keypair()
DIGEST = "ab" * 32
SIGNATURE = signer_from_key(PRIVATE)(DIGEST)
RAW = base64.b64decode(SIGNATURE)
L = 2**252 + 27742317777372353535851937790883648493  # the group order: S must be below it


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _non_canonical(raw: bytes) -> bytes:
    s = int.from_bytes(raw[32:], "little") + L
    return raw[:32] + s.to_bytes(32, "little") if s < 2**256 else raw[:32] + b"\xff" * 32


CASES = [
    (PUBLIC, DIGEST, SIGNATURE),
    (OTHER_PUBLIC, DIGEST, SIGNATURE),
    (PUBLIC, "cd" * 32, SIGNATURE),
    (PUBLIC, DIGEST[1:], SIGNATURE),
    (PUBLIC, DIGEST, _b64(RAW[:63])),
    (PUBLIC, DIGEST, _b64(RAW + b"\0")),
    (PUBLIC, DIGEST[1:], _b64(RAW + DIGEST[:1].encode())),
    (PUBLIC, DIGEST, _b64(bytes([RAW[0] ^ 1]) + RAW[1:])),
    (PUBLIC, DIGEST, _b64(_non_canonical(RAW))),
    (PUBLIC, DIGEST, _b64(b"\0" * 64)),
    (PUBLIC, DIGEST, "!!"),
    (PUBLIC, DIGEST, SIGNATURE + "="),
    (PUBLIC, DIGEST, ""),
    (PUBLIC, "", signer_from_key(PRIVATE)("")),
]


# Named, not by value: the keys are drawn per process, and xdist's workers must collect the
# same test ids.
CASE_IDS = [
    "valid",
    "other_key",
    "other_digest",
    "digest_cut",
    "signature_cut",
    "signature_padded",
    "digest_moved_into_signature",
    "bit_flipped",
    "non_canonical_s",
    "zeros",
    "not_base64",
    "extra_padding",
    "empty_signature",
    "empty_digest_valid",
]


@pytest.mark.parametrize(("public", "digest", "signature"), CASES, ids=CASE_IDS)
def test_sodium_and_openssl_give_the_same_answer(public: str, digest: str, signature: str) -> None:
    key = load_public_key(public)
    raw_key = base64.b64decode(public)
    assert _verifies(raw_key, digest.encode(), signature) == verify_with(key, digest, signature)


def test_only_the_owners_signature_of_that_digest_verifies() -> None:
    answers = [_verifies(base64.b64decode(p), d.encode(), s) for p, d, s in CASES]
    assert answers[0] and answers[-1]
    assert not any(answers[1:-1])
