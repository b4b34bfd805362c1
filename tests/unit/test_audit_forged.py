"""The audit hears a topic only from its owner, as the consumers do
(``ikmkit.messaging.authenticity``): an event whose ``ce_source`` is not the topic's owner, or
whose type belongs to another topic, is ``forged``, however well it is chained; and an
owner's public key checks every event on its topics, whatever source the event claims.

Every answer is the same record by record (``check``), by the batch path (``check_all``)
and by the chunk path (``check_partition``).
"""

from __future__ import annotations

from contracts.registry import ENTERPRISE_TOPIC
from contracts.subsidy import APPLICATION_TOPIC
from ikmkit.audit.chain import ChainVerifier
from ikmkit.audit.findings import Kind
from ikmkit.messaging.signing import generate_keypair, signer_from_key, verify_signature
from tests.support.audit_streams import outbox_stream, stream
from tests.support.records import Record

Found = list[tuple[Kind, str, int | None]]


def findings(records: list[Record], **kwargs) -> Found:
    """What ``check`` finds record by record; ``check_all`` and ``check_partition`` agree."""
    answers = []
    for feed in ("check", "check_all", "check_partition"):
        verifier = ChainVerifier(**kwargs)
        if feed == "check":
            for record in records:
                verifier.check(record)
        elif feed == "check_all":
            verifier.check_all(records)
        else:
            verifier.check_partition(records[0].topic, 0, records)
        answers.append(sorted((f.kind, f.subject, f.sequence) for f in verifier.finish()))
    assert answers[1:] == answers[:1] * 2
    return answers[0]


def test_an_event_from_another_source_than_the_topics_owner_is_forged() -> None:
    genuine = stream("1000000000101", 2)
    impostor = stream("1000000000102", 2, source="/ikm/subsidy")
    assert findings(genuine + impostor) == [
        (Kind.FORGED, "1000000000102", 1),
        (Kind.FORGED, "1000000000102", 2),
    ]
    chunked = outbox_stream(["1000000000103", "1000000000104"], 3, source="/ikm/impostor")
    assert findings(chunked) == sorted(
        (Kind.FORGED, nib, n) for nib in ("1000000000103", "1000000000104") for n in (1, 2, 3)
    )


def test_an_event_on_another_topic_than_its_types_is_forged() -> None:
    """EnterpriseVerified belongs on the registry's topic: on subsidy's it is nobody's, from
    the registry's source or from subsidy's."""
    for source in ("/ikm/registry", "/ikm/subsidy"):
        moved = stream("1000000000105", 2, topic=APPLICATION_TOPIC, source=source)
        assert findings(moved) == [
            (Kind.FORGED, "1000000000105", 1),
            (Kind.FORGED, "1000000000105", 2),
        ]
        chunked = outbox_stream(["1000000000106"], 3, topic=APPLICATION_TOPIC, source=source)
        assert [f[0] for f in findings(chunked)] == [Kind.FORGED] * 3


def test_the_owners_key_checks_every_event_on_its_topic_whatever_source_it_claims() -> None:
    private, public = generate_keypair()
    keys = {"/ikm/registry": public}
    signed = stream("1000000000107", 2, signer=signer_from_key(private))
    assert findings(signed, public_keys=keys, verify_signature=verify_signature) == []
    # unsigned, under a source no key was given for: the registry's key still applies
    impostor = stream("1000000000108", 1, source="/ikm/someone")
    assert findings(impostor, public_keys=keys, verify_signature=verify_signature) == [
        (Kind.FORGED, "1000000000108", 1),
        (Kind.UNSIGNED, "1000000000108", 1),
    ]
    # signed with a key of its own, given for its own source: not the registry's
    other_private, other_public = generate_keypair()
    own_key = stream(
        "1000000000109", 1, source="/ikm/someone", signer=signer_from_key(other_private)
    )
    both = {**keys, "/ikm/someone": other_public}
    assert findings(own_key, public_keys=both, verify_signature=verify_signature) == [
        (Kind.BAD_SIGNATURE, "1000000000109", 1),
        (Kind.FORGED, "1000000000109", 1),
    ]


def test_a_topic_no_contract_names_is_checked_against_its_types_owner() -> None:
    """A topic outside the catalog (say a retired one) has no owner to hold events to: an
    event of a known type there must come from that type's owner."""
    genuine = stream("1000000000110", 2, topic="ikm.registry.enterprise.v0")
    assert findings(genuine) == []
    impostor = stream("1000000000111", 1, topic="ikm.registry.enterprise.v0", source="/ikm/x")
    assert findings(impostor) == [(Kind.FORGED, "1000000000111", 1)]
    assert ENTERPRISE_TOPIC != "ikm.registry.enterprise.v0"


def test_the_owners_events_keep_the_fast_paths_on_any_topic() -> None:
    """Checking the source costs the platform's logs nothing: its events stay compact chains
    (the fast paths), on its topic and on one no contract names (the benches')."""
    for topic in (ENTERPRISE_TOPIC, "ikm.bench.audit.v1"):
        records = outbox_stream(["1000000000112", "1000000000113"], 3, topic=topic)
        for feed in ("check_all", "check_partition"):
            verifier = ChainVerifier()
            if feed == "check_all":
                verifier.check_all(records)
            else:
                verifier.check_partition(topic, 0, records)
            assert verifier.finish() == []
            assert (verifier.streams, verifier._streams) == (2, {}), (topic, feed)
