"""The stream verifier on records built by the producer side's own chain code."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import replace
from datetime import UTC, datetime

from contracts import envelope as ce
from contracts.envelope import GENESIS_HASH, EnvelopeAttributes
from contracts.registry import ENTERPRISE_TOPIC
from ikmkit.audit.chain import ChainVerifier
from ikmkit.audit.findings import Kind
from ikmkit.audit.masking import mask_payload
from ikmkit.messaging.cloudevents import chain_hash, to_headers
from ikmkit.messaging.signing import generate_keypair, signer_from_key, verify_signature
from tests.support.audit_streams import outbox_stream, stream
from tests.support.records import Record as FakeRecord


def verify(records: list[FakeRecord], **kwargs) -> list[tuple[Kind, int | None]]:
    """Findings of ``check`` record by record; ``check_all`` (replay's fast path) must agree."""
    verifier = ChainVerifier(**kwargs)
    for record in records:
        verifier.check(record)
    one_by_one = [(f.kind, f.sequence) for f in verifier.finish()]
    batched = ChainVerifier(**kwargs)
    models = batched.check_all(records)
    assert len(models) == len(records)

    def order(finding: tuple[Kind, int | None]) -> tuple[str, int]:
        return finding[0].value, -1 if finding[1] is None else finding[1]

    assert sorted(((f.kind, f.sequence) for f in batched.finish()), key=order) == sorted(
        one_by_one, key=order
    )
    return one_by_one


def test_an_intact_stream_has_no_findings() -> None:
    assert verify(stream("1000000000001", 5) + stream("1000000000002", 3)) == []


def test_one_changed_payload_byte_is_flagged_once() -> None:
    records = stream("1000000000003", 4)
    original = records[1].value
    assert original is not None
    tampered = original.replace(b"officer-2", b"officer-9")
    records[1] = replace(records[1], value=tampered)
    assert verify(records) == [(Kind.TAMPERED, 2)]


def test_a_changed_header_is_flagged() -> None:
    records = stream("1000000000004", 3)
    headers = [
        (k, b"2026-01-01T00:00:00+00:00" if k == "ce_time" else v) for k, v in records[2].headers
    ]
    records[2] = replace(records[2], headers=headers)
    assert verify(records) == [(Kind.TAMPERED, 3)]


def test_a_rewritten_event_with_a_recomputed_hash_breaks_the_next_link() -> None:
    records = stream("1000000000005", 3)
    headers = dict(records[1].headers)
    payload = (records[1].value or b"").replace(b"officer-2", b"officer-9").decode()
    attrs = EnvelopeAttributes(
        id=headers["ce_id"].decode(),
        type=headers["ce_type"].decode(),
        source=headers["ce_source"].decode(),
        time=datetime.fromisoformat(headers["ce_time"].decode()),
        subject=headers["ce_subject"].decode(),
        region="34",
        sequence=2,
        hash="",
    )
    previous = dict(records[0].headers)["ce_hash"].decode()
    forged_hash = chain_hash(previous, attrs, payload)  # the forger recomputes event 2's hash
    records[1] = replace(
        records[1],
        value=payload.encode(),
        headers=to_headers(attrs.model_copy(update={"hash": forged_hash})),
    )
    assert verify(records) == [(Kind.TAMPERED, 3)]


def test_a_missing_sequence_number_is_a_gap() -> None:
    records = stream("1000000000006", 6)
    del records[2]
    del records[3]
    findings = verify(records)
    # event 4 and 6 cannot be checked without their predecessors; the gap is the finding
    assert findings == [(Kind.GAP, 3)]
    verifier = ChainVerifier()
    for record in records:
        verifier.check(record)
    assert "3, 5 of 1..6" in verifier.finish()[0].detail


def test_a_redelivered_event_is_a_benign_duplicate() -> None:
    records = stream("1000000000007", 3)
    findings = verify([*records, records[1]])
    assert findings == [(Kind.DUPLICATE, 2)]
    verifier = ChainVerifier()
    for record in [*records, records[1]]:
        verifier.check(record)
    assert [f.severity for f in verifier.finish()] == ["warning"]


def test_two_events_claiming_one_sequence_number_conflict() -> None:
    records = stream("1000000000008", 2)
    other = stream("1000000000008", 2)[1]
    assert verify([*records, other]) == [(Kind.CONFLICT, 2)]


def test_reordered_events_are_flagged_and_still_chain_checked() -> None:
    records = stream("1000000000009", 4)
    reordered = [records[0], records[2], records[1], records[3]]
    assert verify(reordered) == [(Kind.REORDERED, 2)]
    tampered = replace(records[2], value=(records[2].value or b"").replace(b"officer-3", b"x"))
    assert sorted(verify([records[0], tampered, records[1], records[3]])) == [
        (Kind.REORDERED, 2),
        (Kind.TAMPERED, 3),
    ]


def test_a_contract_violation_is_flagged_without_quoting_the_value() -> None:
    records = stream("1000000000010", 1)
    bad = (records[0].value or b"").replace(b'"verified_by":"officer-1"', b'"verified_by":12345')
    verifier = ChainVerifier()
    verifier.check(replace(records[0], value=bad))
    kinds = {f.kind: f for f in verifier.finish()}
    assert set(kinds) == {Kind.CONTRACT_VIOLATION, Kind.TAMPERED}
    assert "verified_by" in kinds[Kind.CONTRACT_VIOLATION].detail
    assert "12345" not in kinds[Kind.CONTRACT_VIOLATION].detail


def test_signatures_are_verified_with_the_sources_public_key() -> None:
    private, public = generate_keypair()
    keys = {"/ikm/registry": public}
    signed = stream("1000000000011", 2, signer=signer_from_key(private))
    assert verify(signed, public_keys=keys, verify_signature=verify_signature) == []
    unsigned = stream("1000000000012", 1)
    assert verify(unsigned, public_keys=keys, verify_signature=verify_signature) == [
        (Kind.UNSIGNED, 1)
    ]
    other, _ = generate_keypair()
    forged = stream("1000000000013", 1, signer=signer_from_key(other))
    assert verify(forged, public_keys=keys, verify_signature=verify_signature) == [
        (Kind.BAD_SIGNATURE, 1)
    ]


def test_personal_data_is_masked_by_the_contract_marking() -> None:
    from contracts.registry import EnterpriseRegistered

    data = {
        "nib": "1000000000014",
        "name": "CV Maju",
        "owner": {"name": "Budi Santoso", "email": "budi@example.id", "phone": "081234567890"},
    }
    masked = mask_payload(EnterpriseRegistered, data)
    assert masked["owner"] == {
        "name": "B*** S***",
        "email": "b***@example.id",
        "phone": "0812****7890",
    }
    assert masked["name"] == "CV Maju"  # a business name is not personal data
    assert data["owner"]["name"] == "Budi Santoso"  # the input is untouched


def test_the_fast_chain_body_hashes_exactly_what_the_outbox_hashes() -> None:
    """Attributes that need JSON escaping take the exact path; all must agree with chain_hash."""
    from ikmkit.audit.chain_body import chain_body, fast_chain_body

    weird = ["plain", 'quote"d', "back\\slash", "tab\there", "unicodé ✓", "line\u2028sep"]
    for n, text in enumerate(weird):
        attrs = EnvelopeAttributes(
            id=f"id-{text}", type="id.go.kemenperin.ikm.EnterpriseVerified.v1",
            source=f"/ikm/{text}", time=datetime(2026, 1, 1, tzinfo=UTC), subject=text,
            region=None if n % 2 else "34", sequence=n + 1, hash="",
        )  # fmt: skip
        payload = '{"nib":"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"}'
        raw = dict(to_headers(attrs))
        headers = {k: v.decode() for k, v in raw.items()}
        expected = chain_hash(GENESIS_HASH, attrs, payload)
        exact = hashlib.sha256(GENESIS_HASH.encode() + chain_body(headers, payload.encode()))
        assert exact.hexdigest() == expected, text
        fast = fast_chain_body(raw, payload.encode())
        if text == "plain":
            assert fast is not None
        if fast is not None:
            assert hashlib.sha256(GENESIS_HASH.encode() + fast).hexdigest() == expected, text


def test_a_key_that_is_not_the_subject_is_flagged() -> None:
    records = stream("1000000000015", 2)
    records[1] = replace(records[1], key=b"someone-else")
    assert verify(records) == [(Kind.KEY_MISMATCH, 2)]


def test_history_lost_to_retention_is_a_warning_not_a_gap() -> None:
    records = stream("1000000000016", 6)[2:]  # sequence 1 and 2 are past retention
    del records[1]  # and 4 is really missing
    verifier = ChainVerifier()
    for record in records:
        verifier.check(record)
    findings = verifier.finish(truncated=frozenset({(ENTERPRISE_TOPIC, 0)}))
    assert [(f.kind, f.sequence, f.severity) for f in findings] == [
        (Kind.TRUNCATED, 1, "warning"),
        (Kind.GAP, 4, "error"),
    ]
    untruncated = ChainVerifier()
    for record in records:
        untruncated.check(record)
    assert [(f.kind, f.sequence) for f in untruncated.finish()] == [(Kind.GAP, 1)]


def test_a_sequence_written_another_way_is_tampering_on_the_fast_path_too() -> None:
    # "+2" parses as 2; a hash recomputed over the bytes '"sequence":+2' must not pass
    # check_all (replay's fast path) when check (and any other verifier) refuses it.
    import hashlib

    records = stream("1000000000010", 3)
    headers = dict(records[1].headers)
    previous = dict(records[0].headers)["ce_hash"]
    body = (
        b'{"data":' + (records[1].value or b"") + b',"id":"' + headers["ce_id"]
        + b'","region":"34","sequence":+2,"source":"' + headers["ce_source"]
        + b'","subject":"' + headers["ce_subject"] + b'","time":"' + headers["ce_time"]
        + b'","type":"' + headers["ce_type"] + b'"}'
    )  # fmt: skip
    forged = hashlib.sha256(previous + body).hexdigest().encode()
    forged_headers = [
        (k, b"+2" if k == "ce_sequence" else forged if k == "ce_hash" else v)
        for k, v in records[1].headers
    ]
    records[1] = replace(records[1], headers=forged_headers)
    assert verify(records) == [(Kind.TAMPERED, None), (Kind.TAMPERED, 3)]


def _with_header(record: FakeRecord, name: str, value: bytes) -> FakeRecord:
    return replace(record, headers=[(k, value if k == name else v) for k, v in record.headers])


def test_a_copy_of_a_signed_hash_on_other_content_is_tampering_not_a_duplicate() -> None:
    """A replay: a genuine event's ce_hash (and signature) copied onto a new id, another
    time or other data, later in the log. Only the very event it hashes is a redelivery."""
    records = stream("1000000000020", 3)
    second = records[1]
    copies = [
        _with_header(second, "ce_id", str(uuid.uuid4()).encode()),
        _with_header(second, "ce_time", b"2030-01-01T00:00:00+00:00"),
        replace(second, value=(second.value or b"").replace(b"officer-2", b"officer-X")),
    ]
    for copy in copies:
        assert verify([*records, replace(copy, offset=10)]) == [(Kind.TAMPERED, 2)]
    first = _with_header(records[0], "ce_id", str(uuid.uuid4()).encode())
    assert verify([*records, replace(first, offset=10)]) == [(Kind.TAMPERED, 1)]
    assert verify([*records, replace(second, offset=10)]) == [(Kind.DUPLICATE, 2)]


def test_a_copy_whose_predecessor_is_missing_too_must_be_the_same_event() -> None:
    records = stream("1000000000021", 4)
    third = records[2]
    other = replace(third, offset=10, value=(third.value or b"").replace(b"officer-3", b"y"))
    assert sorted(verify([records[0], third, other, records[3]])) == [
        (Kind.GAP, 2),
        (Kind.TAMPERED, 3),
    ]
    redelivered = replace(third, offset=10)
    assert sorted(verify([records[0], third, redelivered, records[3]])) == [
        (Kind.DUPLICATE, 3),
        (Kind.GAP, 2),
    ]


def test_an_event_whose_predecessor_is_absent_is_checked_by_its_prevhash() -> None:
    """Past retention (or after a gap) the first event read has no predecessor to be checked
    against; since ``ce_prevhash`` it is checked alone. A payload changed there was reported
    only as ``truncated``, a warning: exit 0."""
    records = outbox_stream(["1000000000017"], 5)
    assert all(ce.H_PREVHASH in dict(r.headers) for r in records)
    retained = records[2:]  # sequences 1 and 2 are past retention
    retained[0] = replace(retained[0], value=(retained[0].value or b"").replace(b"r-2", b"r-9"))
    truncated = frozenset({(ENTERPRISE_TOPIC, 0)})
    for feed in ("check", "check_all"):
        verifier = ChainVerifier()
        if feed == "check":
            for record in retained:
                verifier.check(record)
        else:
            verifier.check_all(retained)
        assert [(f.kind, f.sequence) for f in verifier.finish(truncated)] == [
            (Kind.TAMPERED, 3),
            (Kind.TRUNCATED, 1),
        ], feed
    # after a gap: the event past it is checked too; an intact one is not reported
    gapped = [records[0], records[1], records[3], records[4]]
    assert verify(gapped) == [(Kind.GAP, 3)]
    gapped[2] = replace(gapped[2], value=(gapped[2].value or b"").replace(b"r-3", b"r-9"))
    assert sorted(verify(gapped)) == [(Kind.GAP, 3), (Kind.TAMPERED, 4)]
    # read before its predecessor (reordered), a changed event is reported once
    reordered = [records[0], records[2], records[1], records[3]]
    reordered[1] = replace(reordered[1], value=(reordered[1].value or b"").replace(b"r-2", b"r-9"))
    assert sorted(verify(reordered)) == [(Kind.REORDERED, 2), (Kind.TAMPERED, 3)]
