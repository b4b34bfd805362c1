"""A well-formed chain is verified on the replay's fast path, never record by record: the fast
path's own hash of a record must match the outbox's (a mismatch would only fall back to
``check``, slower and still right, so no finding would show it)."""

from __future__ import annotations

from typing import Any

from ikmkit.audit.chain import ChainVerifier
from tests.support.audit_streams import stream


def test_a_clean_chain_never_falls_back_to_check() -> None:
    records = stream("1234567890123", 5) + stream("9876543210987", 3, start=5)
    verifier = ChainVerifier()
    fallbacks: list[Any] = []
    check = verifier.check
    verifier.check = lambda record: fallbacks.append(record) or check(record)  # type: ignore[method-assign]
    models = verifier.check_all(records)
    assert fallbacks == []
    assert len(models) == len(records) and all(m is not None for m in models)
    assert verifier.finish() == []
