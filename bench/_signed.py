"""Run one of the ``bench._*_alone`` tools with signed events, as production runs them: every
owner has an Ed25519 key, the bench's records carry ``ce_signature`` (of ``ce_prevhash`` +
``ce_hash``, as the outbox signs) and the consumer is given
the owners' public keys (``event_public_keys``), so each event's signature is verified:

    python -m bench._signed bench._insights_alone [its options]
"""

from __future__ import annotations

import runpy
import sys
from typing import Any

import bench._insights_enterprises
import bench.notify
import ikmkit.messaging.consumer
from contracts import envelope as ce
from contracts.catalog import TOPIC_OWNERS
from contracts.chain import signed_message
from contracts.codec import to_headers
from contracts.envelope import EnvelopeAttributes
from ikmkit.messaging.authenticity import Authenticity
from ikmkit.messaging.signing import generate_keypair, signer_from_key

_PRIVATE, _PUBLIC = generate_keypair()
_sign = signer_from_key(_PRIVATE)
_KEYS = {owner: _PUBLIC for owner in set(TOPIC_OWNERS.values())}


def _signed_headers(attrs: EnvelopeAttributes) -> list[tuple[str, bytes]]:
    return _signed_headers_of(to_headers(attrs))


def _signed_headers_of(headers: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """``headers`` (unsigned) with the signature the outbox would give them."""
    found = dict(headers)
    prevhash = found.get(ce.H_PREVHASH)
    message = signed_message(found[ce.H_HASH].decode(), prevhash.decode() if prevhash else None)
    return [*headers, (ce.H_SIGNATURE, _sign(message.decode()).encode())]


class _Keyed(Authenticity):
    def __init__(self, public_keys: Any = None) -> None:
        super().__init__(public_keys or _KEYS)


def main(argv: list[str]) -> None:
    for module in (bench._insights_enterprises, bench.notify):
        module.to_headers = _signed_headers  # type: ignore[attr-defined]
    ikmkit.messaging.consumer.Authenticity = _Keyed  # type: ignore[misc]
    module, *options = argv
    sys.argv = [module, *options]
    runpy.run_module(module, run_name="__main__")


if __name__ == "__main__":
    main(sys.argv[1:])
