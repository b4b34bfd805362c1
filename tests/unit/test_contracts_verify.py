"""``contracts.verify.StreamVerifier``, the wheel's verifier, finds what an integrator must see."""

from __future__ import annotations

import json
from typing import Any

from contracts import envelope as ce
from contracts.verify import StreamVerifier
from tests.support import chain_vectors


def records() -> list[dict[str, Any]]:
    vectors = json.loads(chain_vectors.VECTORS_FILE.read_text(encoding="utf-8"))
    return list(vectors["chain"]["records"])


def problems(chosen: list[dict[str, Any]]) -> list[tuple[str, int | None]]:
    verifier = StreamVerifier()
    for r in chosen:
        headers = [(k, v.encode()) for k, v in r["headers"].items()]
        verifier.check(r["topic"], headers, r["payload"].encode())
    return [(p.kind, p.sequence) for p in verifier.problems]


def test_a_log_spanning_the_change_verifies() -> None:
    assert problems(records()) == []


def test_tampering_gaps_redeliveries_and_conflicts_are_reported() -> None:
    log = records()
    altered = {**log[2], "payload": log[2]["payload"].replace("officer-3", "officer-X")}
    assert problems([log[0], log[1], altered, log[3]]) == [("tampered", 3)]
    assert problems([log[0], log[2], log[3]]) == [("gap", 3)]
    assert problems([log[0], log[1], log[1]]) == [("duplicate", 2)]
    other = {**log[1], "headers": {**log[1]["headers"], ce.H_HASH: "f" * 64}}
    assert problems([log[0], log[1], other]) == [("conflict", 2)]


def test_an_event_of_another_specversion_is_undecodable_with_the_reason() -> None:
    log = records()
    old = {**log[0], "headers": {**log[0]["headers"], ce.H_SPECVERSION: "0.3"}}
    assert problems([old]) == [("undecodable:unsupported_specversion", None)]
