"""What the replay keeps per aggregate stream is compact (issue #14: ``ikm audit replay``'s
memory grew with the log, ~1.6 KB per aggregate of a platform log).

Measured with tracemalloc on the verifier, as the replay feeds it: the records are built while
tracing, verified, then dropped, so what is left is what the verifier holds on to (the header
bytes it keeps included, as when they come from Kafka)."""

from __future__ import annotations

import gc
import pickle
import tracemalloc
import uuid
from datetime import UTC, datetime, timedelta

from contracts.chain import CANON_RFC8785
from contracts.envelope import GENESIS_HASH, EnvelopeAttributes
from contracts.registry import ENTERPRISE_TOPIC, EnterpriseVerified
from ikmkit.audit.chain import ChainVerifier
from ikmkit.audit.chain_view import LogView
from ikmkit.audit.findings import Kind
from ikmkit.audit.heads import HeadTable, StreamHead
from ikmkit.audit.published import LogStream
from ikmkit.messaging.cloudevents import chain_hash, event_payload, to_headers
from tests.support.records import Record

AT = datetime(2026, 3, 1, tzinfo=UTC)


def _records(aggregates: int, per: int) -> list[Record]:
    """``per`` chained platform events of each aggregate, interleaved as a partition holds them."""
    previous = dict.fromkeys(range(aggregates), GENESIS_HASH)
    records = []
    for n in range(1, per + 1):
        for a in range(aggregates):
            nib = f"{2_000_000_000_000 + a}"
            event = EnterpriseVerified(nib=nib, province="34", verified_by=f"o-{n}", verified_at=AT)
            payload = event_payload(event)
            attrs = EnvelopeAttributes(
                id=str(uuid.uuid4()), type=event.ce_type(), source="/ikm/registry",
                time=AT + timedelta(minutes=n), subject=nib, region="34", sequence=n, hash="",
                hashcanon=CANON_RFC8785,
            )  # fmt: skip
            previous[a] = chain_hash(previous[a], attrs, payload)
            headers = to_headers(attrs.model_copy(update={"hash": previous[a]}))
            records.append(
                Record(ENTERPRISE_TOPIC, 0, len(records), nib.encode(), payload.encode(), headers)
            )
    return records


def _retained(aggregates: int, per: int) -> tuple[ChainVerifier, int]:
    """The verifier after checking the records, and the bytes it still holds."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        records = _records(aggregates, per)
        verifier = ChainVerifier()
        for start in range(0, len(records), 500):
            verifier.check_all(records[start : start + 500])
        size = len(records)
        del records  # what the verifier kept of them stays
        gc.collect()
        retained = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert size == aggregates * per
    return verifier, retained


def test_an_aggregate_with_one_event_costs_little() -> None:
    _retained(50, 2)  # warm caches (contract adapters) before measuring
    verifier, retained = _retained(3000, 1)
    assert verifier.finish() == [] and verifier.streams == 3000
    # Kafka key + last hash (binary) + a dict slot: ~250 bytes; was ~1,000.
    assert retained / 3000 < 300, f"{retained / 3000:.0f} bytes per aggregate"


def test_more_events_per_aggregate_add_only_their_digests() -> None:
    _retained(50, 2)
    _, one = _retained(1000, 1)
    verifier, four = _retained(1000, 4)
    assert verifier.finish() == [] and verifier.heads()[(ENTERPRISE_TOPIC, "2000000000999")][0] == 4
    # 32 bytes of digest per event (duplicates and conflicts are told apart by it); was ~150.
    per_event = (four - one) / 3000
    assert per_event < 48, f"{per_event:.0f} bytes per further event"


def test_a_compact_chain_still_tells_duplicates_conflicts_and_old_hashes() -> None:
    records = _records(1, 4)
    verifier = ChainVerifier()
    verifier.check_all(records)  # the fast path: kept compact
    again = records[1]  # event 2 delivered again, after event 4
    forged = Record(
        again.topic, 0, 5, again.key, again.value,
        [(k, b"f" * 64 if k == "ce_hash" else v) for k, v in again.headers],
    )  # fmt: skip
    verifier.check_all([Record(again.topic, 0, 4, again.key, again.value, again.headers)])
    verifier.check_all([forged])
    kinds = [(f.kind, f.sequence, f.offset) for f in verifier.finish()]
    assert kinds == [(Kind.DUPLICATE, 2, 4), (Kind.CONFLICT, 2, 5)]
    key = (ENTERPRISE_TOPIC, "2000000000000")
    claimed = dict(again.headers)["ce_hash"].decode()
    assert verifier.log_streams({key: 2})[key].hash_at == {
        2: claimed,
        4: dict(records[3].headers)["ce_hash"].decode(),
    }
    assert verifier.heads()[key] == (4, dict(records[3].headers)["ce_hash"].decode())


def test_the_hash_at_the_outbox_head_is_read_from_a_compact_chain() -> None:
    records = _records(2, 3)
    verifier = ChainVerifier()
    verifier.check_all(records)
    key = (ENTERPRISE_TOPIC, "2000000000001")
    logged = verifier.log_streams({key: 1})[key]
    assert logged.partition == 0 and logged.last == 3
    assert logged.hash_at[1] == dict(records[1].headers)["ce_hash"].decode()


def test_the_log_view_gives_compact_and_whole_streams_alike() -> None:
    records = _records(3, 3)
    verifier = ChainVerifier()
    verifier.check_all([r for r in records if not (r.key == b"2000000000002" and r.offset == 2)])
    compact, gapped = (ENTERPRISE_TOPIC, "2000000000000"), (ENTERPRISE_TOPIC, "2000000000002")
    view = verifier.log_view({compact: 2, gapped: 3})
    assert sorted(view) == [compact, (ENTERPRISE_TOPIC, "2000000000001"), gapped]
    assert len(view) == 3 and (ENTERPRISE_TOPIC, "nope") not in view
    hashes = [dict(r.headers)["ce_hash"].decode() for r in records]
    assert view[compact] == LogStream(0, 3, {2: hashes[3], 3: hashes[6]})
    assert view[gapped] == LogStream(0, 3, {3: hashes[8]})  # event 1 never arrived
    assert dict(view) == verifier.log_streams({compact: 2, gapped: 3})


def test_workers_send_their_chains_and_the_parent_merges_them() -> None:
    records = _records(4, 2)
    shards = [ChainVerifier(), ChainVerifier()]
    for record in records:  # two "partitions": even and odd aggregates
        shards[int(record.key or b"0") % 2].check_all([record])
    wanted = {(ENTERPRISE_TOPIC, "2000000000003"): 1}
    sent = [pickle.loads(pickle.dumps(s.log_view(wanted))) for s in shards]
    merged = LogView.merged(sent, wanted)
    whole = ChainVerifier()
    whole.check_all(records)
    assert dict(merged) == whole.log_streams(wanted)
    assert merged[(ENTERPRISE_TOPIC, "2000000000003")].hash_at.keys() == {1, 2}


def test_outbox_heads_are_kept_compactly_and_read_back_exactly() -> None:
    odd = [
        StreamHead("ikm.a.v1", "x", 3, "not a digest", unsent=1),
        StreamHead("ikm.a.v1", "y", 2**70, "ab" * 32),  # too large to pack
        StreamHead("ikm.b.v1", "x", 5, "AB" * 32),  # upper case: kept as given
    ]
    table = HeadTable()
    for head in odd:
        table.add(head)
    assert [table[(h.topic, h.aggregate)] for h in odd] == odd
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for n in range(3000):
            table.add(StreamHead("ikm.a.v1", f"{3_000_000_000_000 + n}", n, f"{n:064x}", n % 3))
        per_head = (tracemalloc.get_traced_memory()[0] - before) / 3000
    finally:
        tracemalloc.stop()
    assert table[("ikm.a.v1", "3000000000007")] == StreamHead(
        "ikm.a.v1", "3000000000007", 7, f"{7:064x}", 1
    )
    assert len(table) == 3003 and ("ikm.b.v1", "x") in table and ("ikm.b.v1", "y") not in table
    assert sorted(table)[:2] == [("ikm.a.v1", "3000000000000"), ("ikm.a.v1", "3000000000001")]
    # aggregate id, 48 packed bytes, a dict slot: ~170 bytes; a StreamHead each was ~430.
    assert per_head < 200, f"{per_head:.0f} bytes per head"
