"""``contracts.verify.StreamVerifier``, the wheel's verifier, finds what an integrator must see."""

from __future__ import annotations

import json
from typing import Any

from contracts import envelope as ce
from contracts.subsidy import APPLICATION_TOPIC
from contracts.verify import StreamVerifier
from tests.support import chain_vectors
from tests.support.audit_streams import outbox_stream


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


def test_a_copy_of_a_seen_hash_on_other_content_is_tampering() -> None:
    """A replayed signature: the second event's ce_hash (signed) on a new id or other data.
    Only the very event it hashes is a redelivery."""
    log = records()
    second = log[1]
    new_id = {**second, "headers": {**second["headers"], ce.H_ID: "replayed-1"}}
    altered = {**second, "payload": second["payload"].replace("officer-2", "officer-X")}
    assert problems([*log[:3], new_id]) == [("tampered", 2)]
    assert problems([*log[:3], altered]) == [("tampered", 2)]
    assert problems([*log[:3], second]) == [("duplicate", 2)]


def test_an_event_ahead_of_its_predecessor_is_checked_when_it_comes() -> None:
    log = records()
    third = log[2]
    altered = {**third, "payload": third["payload"].replace("officer-3", "officer-X")}
    # Without ce_prevhash (as written before 2026-12) only the predecessor tells.
    unbound = {**altered, "headers": _without(altered["headers"], ce.H_PREVHASH)}
    assert problems([log[0], unbound, log[1], log[3]]) == [
        ("gap", 3),
        ("reordered", 2),
        ("tampered", 3),
    ]
    # With it, the event tells by itself, when it comes.
    assert problems([log[0], altered, log[1], log[3]]) == [
        ("gap", 3),
        ("tampered", 3),
        ("reordered", 2),
    ]
    assert problems([log[0], third, log[1], log[3]]) == [("gap", 3), ("reordered", 2)]


def test_a_copy_is_not_returned_to_be_handled() -> None:
    log = records()
    second = log[1]
    new_id = {**second, "headers": {**second["headers"], ce.H_ID: "replayed-1"}}
    verifier = StreamVerifier()
    handled = []
    for r in [*log[:3], second, new_id]:
        headers = [(k, v.encode()) for k, v in r["headers"].items()]
        envelope = verifier.check(r["topic"], headers, r["payload"].encode())
        handled.append(envelope is not None)
    assert handled == [True, True, True, False, False]


def _without(headers: dict[str, str], name: str) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k != name}


def _handled(verifier: StreamVerifier, chosen: list[dict[str, Any]]) -> list[bool]:
    handled = []
    for r in chosen:
        headers = [(k, v.encode()) for k, v in r["headers"].items()]
        handled.append(verifier.check(r["topic"], headers, r["payload"].encode()) is not None)
    return handled


def test_a_copy_read_before_the_genuine_event_is_tampered_and_the_genuine_one_handled() -> None:
    """Every header of event 3 (its ce_hash, ce_prevhash, ce_signature) on other data or
    another id, read *before* event 3: refused from itself, with the predecessor read or
    missing; event 3 then comes and is handled, as neither a duplicate nor a conflict."""
    log = records()
    third = log[2]
    assert ce.H_PREVHASH in third["headers"]
    other_data = {**third, "payload": third["payload"].replace("officer-3", "officer-X")}
    other_id = {**third, "headers": {**third["headers"], ce.H_ID: "replayed-1"}}
    for copy in (other_data, other_id):
        verifier = StreamVerifier()
        assert _handled(verifier, [log[0], log[1], copy, third, log[3]]) == [
            True, True, False, True, True
        ]  # fmt: skip
        assert [(p.kind, p.sequence) for p in verifier.problems] == [("tampered", 3)]
        assert "ce_prevhash" in verifier.problems[0].detail
        twice = StreamVerifier()  # two copies first, the predecessor missing: both tampered
        assert _handled(twice, [copy, copy, third]) == [False, False, True]
        assert [(p.kind, p.sequence) for p in twice.problems] == [
            ("gap", 3),
            ("tampered", 3),
            ("tampered", 3),
            ("gap", 3),
        ]
        missing = StreamVerifier()  # the predecessor not (yet) read
        assert _handled(missing, [copy, third, log[3]]) == [False, True, True]
        assert [(p.kind, p.sequence) for p in missing.problems] == [
            ("gap", 3),
            ("tampered", 3),
            ("gap", 3),
        ]


def test_an_event_not_from_its_topics_owner_is_forged_and_not_handled() -> None:
    """An integrator hears a topic only from its owner, as the platform's consumers do: an
    impostor's well-chained events (another ``ce_source``, or a type of another topic) were
    returned to be handled, without a problem."""
    genuine = outbox_stream(["1000000000201"], 2)
    impostor = outbox_stream(["1000000000202"], 1, source="/ikm/impostor")
    moved = outbox_stream(["1000000000203"], 1, topic=APPLICATION_TOPIC)
    verifier = StreamVerifier()
    handled = [verifier.check(r.topic, r.headers, r.value) for r in genuine + impostor + moved]
    assert [event is not None for event in handled] == [True, True, False, False]
    assert [(p.kind, p.subject, p.sequence) for p in verifier.problems] == [
        ("forged", "1000000000202", 1),
        ("forged", "1000000000203", 1),
    ]
    assert "/ikm/impostor" in verifier.problems[0].detail
