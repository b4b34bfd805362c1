"""The replay's chunk path (``ikmkit.audit.chain_chunk``) gives exactly the per-record path's
answers, on clean logs and on every kind of damage, and is taken on the platform's logs.

Each log is verified twice through ``check_partition`` in chunks, as the replay feeds it:
once as it is, once with the chunk path switched off (the per-record path of before). The
models, the findings, the counts and the verifier's whole state must be the same.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bench.audit import OutboxRows
from contracts import envelope as ce
from contracts.registry import ENTERPRISE_TOPIC, EnterpriseVerified
from ikmkit.audit import chain_batch, chain_chunk
from ikmkit.audit.chain import ChainVerifier
from ikmkit.audit.findings import Kind
from ikmkit.messaging.outbox import Outbox, row_message
from tests.support.audit_streams import stream
from tests.support.records import Record

Mutation = Callable[[list[Record]], list[Record]]


TP = ce.H_TRACEPARENT


def platform_log(count: int = 6, per: int = 5) -> list[Record]:
    """``count`` streams of ``per`` events as the platform writes them (the registry's outbox
    chains them with RFC 8785 payloads, the relay's ``row_message`` makes the records),
    interleaved so that a chunk holds several events of one stream, as one partition."""
    rows, outbox = OutboxRows(), Outbox("/ikm/registry")
    at = datetime(2026, 3, 1, tzinfo=UTC)
    events = [
        EnterpriseVerified(
            nib=f"{1_000_000_000_000 + n % count}",
            province="34",
            verified_by=f"officer-{n}",
            verified_at=at + timedelta(seconds=n),
        )
        for n in range(count * per)
    ]
    asyncio.run(outbox.add_many(rows, events))  # type: ignore[arg-type]
    messages = [row_message({**row, "topic": ENTERPRISE_TOPIC}) for row in rows.outbox]
    # untraced whatever the process's tracing (a provider set up by an earlier test in this
    # process gives each message a traceparent); the tests add one where they want it
    records = [
        Record(ENTERPRISE_TOPIC, 0, 0, m.key, m.value, [h for h in m.headers if h[0] != TP])
        for m in messages
    ]
    # the first two rounds in turn, then each stream's last events together
    mixed = records[: count * 2] + sorted(records[count * 2 :], key=lambda r: r.key or b"")
    return [replace(r, offset=n) for n, r in enumerate(mixed)]


def legacy_log() -> list[Record]:
    """Records without ``ce_hashcanon`` (the legacy canonical form), all per-record."""
    records = [r for n in range(5) for r in stream(f"{1_000_000_000_000 + n}", 5)]
    return [replace(r, offset=n) for n, r in enumerate(records)]


def outcome(
    records: list[Record], size: int, chunked: bool, monkeypatch: Any, skip: int = 0
) -> tuple[Any, ...]:
    """What the verifier makes of ``records`` fed in chunks of ``size``; ``skip``: batches
    that go record by record after a declined one (0: every batch tries the chunk path)."""
    with monkeypatch.context() as patch:
        patch.setattr(chain_batch, "SKIP_AFTER_DECLINE", skip)
        if not chunked:
            patch.setattr(chain_batch, "verify_chunk", lambda *args: None)
        verifier = ChainVerifier()
        models = []
        for start in range(0, len(records), size):
            part = records[start : start + size]
            models += verifier.check_partition(ENTERPRISE_TOPIC, 0, part)
        findings = verifier.finish()
    return (
        models,
        findings,
        verifier.events_checked,
        verifier.streams,
        verifier.heads(),
        verifier._chains,
        verifier._streams,
    )


def header(name: str, change: Callable[[bytes | None], bytes | None]) -> Callable[[Record], Record]:
    def apply(record: Record) -> Record:
        headers = [(k, change(v) if k == name else v) for k, v in record.headers]
        return replace(record, headers=headers)

    return apply


def at(index: int, change: Callable[[Record], Record]) -> Mutation:
    return lambda records: [change(r) if n == index else r for n, r in enumerate(records)]


def value(change: Callable[[bytes], bytes | None]) -> Callable[[Record], Record]:
    return lambda record: replace(record, value=change(record.value or b""))


MUTATIONS: dict[str, Mutation] = {
    "clean": lambda records: records,
    "payload byte": at(9, value(lambda v: v.replace(b"officer", b"officeR"))),
    "payload spaced": at(9, value(lambda v: v.replace(b",", b", "))),
    "payload keys reordered": at(
        3,
        value(
            lambda v: (
                b'{"province"'
                + v.split(b',"province"', 1)[1][:-1]
                + b","
                + v[1:].split(b',"province"', 1)[0]
                + b"}"
            )
        ),
    ),
    "payload float": at(4, value(lambda v: v.replace(b'"34"', b"34.0"))),
    "payload not ascii": at(4, value(lambda v: v.replace(b"officer", "offïcer".encode()))),
    "payload beyond BMP": at(4, value(lambda v: v.replace(b"officer", "off😀".encode()))),
    "payload absent": at(5, value(lambda v: None)),
    "payload trailing space": at(5, value(lambda v: v + b" ")),
    "contract violation": at(7, value(lambda v: v.replace(b'"34"', b'"99"'))),
    "hash wrong": at(8, header(ce.H_HASH, lambda v: b"0" * 64)),
    "hash uppercase": at(8, header(ce.H_HASH, lambda v: (v or b"").upper())),
    "hash short": at(8, header(ce.H_HASH, lambda v: (v or b"")[:-1])),
    "hash absent": at(8, header(ce.H_HASH, lambda v: None)),
    "id changed": at(10, header(ce.H_ID, lambda v: b"x" + (v or b""))),
    "id escaped": at(10, header(ce.H_ID, lambda v: b'"' + (v or b""))),
    "id not ascii": at(10, header(ce.H_ID, lambda v: "é".encode() + (v or b""))),
    "id absent": at(10, header(ce.H_ID, lambda v: None)),
    "time invalid": at(11, header(ce.H_TIME, lambda v: b"2026-13-01T00:00:00+00:00")),
    "time other zone": at(11, header(ce.H_TIME, lambda v: (v or b"").replace(b"+00:00", b"Z"))),
    "sequence signed": at(12, header(ce.H_SEQUENCE, lambda v: b"+" + (v or b"").lstrip(b"0"))),
    "sequence unpadded": at(12, header(ce.H_SEQUENCE, lambda v: (v or b"").lstrip(b"0"))),
    "sequence zero": at(0, header(ce.H_SEQUENCE, lambda v: b"0")),
    "type unknown": at(13, header(ce.H_TYPE, lambda v: b"x.unknown.v1")),
    "canon absent": at(14, header(ce.H_HASHCANON, lambda v: None)),
    "canon other": at(14, header(ce.H_HASHCANON, lambda v: b"legacy")),
    "region absent": at(15, header(ce.H_REGION, lambda v: None)),
    "region escaped": at(15, header(ce.H_REGION, lambda v: b"3\\4")),
    "key not subject": at(16, lambda r: replace(r, key=b"1999999999999")),
    "key absent": at(16, lambda r: replace(r, key=None)),
    "headers reordered": at(
        17, lambda r: replace(r, headers=[r.headers[1], r.headers[0], *r.headers[2:]])
    ),
    "header dropped": at(17, lambda r: replace(r, headers=[*r.headers[:9], *r.headers[10:]])),
    "traceparent": at(
        18, lambda r: replace(r, headers=[*r.headers, (ce.H_TRACEPARENT, b"00-a-b-01")])
    ),
    "all traced": lambda rs: [
        replace(r, headers=[*r.headers, (ce.H_TRACEPARENT, b"00-a-b-01")]) for r in rs
    ],
    "odd tail": at(18, lambda r: replace(r, headers=[*r.headers, ("x-other", b"1")])),
    "duplicated": lambda rs: [*rs[:20], rs[19], *rs[20:]],
    "conflict": lambda rs: [*rs[:20], replace(rs[3], value=rs[4].value), *rs[20:]],
    "dropped": lambda rs: [*rs[:6], *rs[7:]],
    "swapped": lambda rs: [*rs[:14], rs[20], *rs[15:20], rs[14], *rs[21:]],
    "starts late": lambda rs: [r for r in rs if not (r.key == rs[0].key and r.offset < 13)],
}


@pytest.mark.parametrize("size", [1, 4, 7, 100])
@pytest.mark.parametrize("log", [platform_log, legacy_log])
@pytest.mark.parametrize("name", list(MUTATIONS))
def test_the_chunk_path_answers_as_the_per_record_path(
    name: str, log: Callable[[], list[Record]], size: int, monkeypatch: Any
) -> None:
    records = MUTATIONS[name](log())
    expected = outcome(records, size, False, monkeypatch)
    assert outcome(records, size, True, monkeypatch) == expected
    assert outcome(records, size, True, monkeypatch, skip=2) == expected


_BYTES = [
    b'"',
    b"\\",
    b"\x00",
    b"\x7f",
    b"\xc3",
    b"\xf0",
    b" ",
    b"0",
    b"9",
    b"a",
    b"A",
    b"{",
    b",",
    b".",
]


@pytest.mark.parametrize("seed", range(60))
def test_random_damage_gets_the_per_record_answers(seed: int, monkeypatch: Any) -> None:
    """One byte of a payload or of a header value replaced, inserted or deleted, anywhere."""
    rng = random.Random(seed)
    records = platform_log()
    for _ in range(rng.choice((1, 2, 3))):
        index = rng.randrange(len(records))
        record = records[index]
        field = rng.randrange(len(record.headers) + 1)
        old = record.value if field == len(record.headers) else record.headers[field][1]
        assert old is not None
        spot, byte = rng.randrange(len(old)), rng.choice(_BYTES)
        new = rng.choice(
            (
                old[:spot] + byte + old[spot + 1 :],
                old[:spot] + byte + old[spot:],
                old[:spot] + old[spot + 1 :],
            )
        )
        if field == len(record.headers):
            record = replace(record, value=new)
        else:
            headers = list(record.headers)
            headers[field] = (headers[field][0], new)
            record = replace(record, headers=headers)
        records[index] = record
    size = rng.choice((3, 8, 100))
    assert outcome(records, size, True, monkeypatch) == outcome(records, size, False, monkeypatch)


TRACED = (TP, b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")


@pytest.mark.parametrize(
    "traced", [lambda n: False, lambda n: True, lambda n: n % 3 == 0], ids=["none", "all", "some"]
)
def test_a_platform_log_takes_the_chunk_path_only(
    traced: Callable[[int], bool], monkeypatch: Any
) -> None:
    """Chunks holding new streams, continued streams and several events of one stream, with
    or without a traceparent, are all verified by ``verify_chunk``, never record by record."""
    taken: list[bool] = []
    verify = chain_chunk.verify_chunk

    def spy(*args: Any) -> Any:
        chunk = verify(*args)
        taken.append(chunk is not None)
        return chunk

    monkeypatch.setattr(chain_batch, "verify_chunk", spy)
    verifier = ChainVerifier()
    monkeypatch.setattr(verifier, "_next_event", lambda *args: pytest.fail("per record"))
    monkeypatch.setattr(verifier, "check", lambda *args: pytest.fail("check"))
    records = [
        replace(r, headers=[*r.headers, TRACED]) if traced(n) else r
        for n, r in enumerate(platform_log())
    ]
    for start in range(0, len(records), 7):
        models = verifier.check_partition(ENTERPRISE_TOPIC, 0, records[start : start + 7])
        assert all(m is not None for m in models)
    assert taken == [True] * len(taken) and len(taken) == 5
    assert verifier.finish() == [] and verifier.events_checked == len(records)


def test_the_chunk_path_resumes_after_a_damaged_chunk(monkeypatch: Any) -> None:
    """A declined chunk sends the next ``SKIP_AFTER_DECLINE`` ones record by record (a log
    damaged throughout would pay for both paths), then the chunk path is tried again."""
    taken: list[bool | None] = []
    verify = chain_chunk.verify_chunk

    def spy(*args: Any) -> Any:
        chunk = verify(*args)
        taken[-1] = chunk is not None
        return chunk

    monkeypatch.setattr(chain_batch, "verify_chunk", spy)
    records = platform_log(4, 30)
    records[2] = replace(records[2], value=(records[2].value or b"").replace(b"off", b"Off"))
    verifier = ChainVerifier()
    for start in range(0, len(records), 4):
        taken.append(None)  # None: not tried
        verifier.check_partition(ENTERPRISE_TOPIC, 0, records[start : start + 4])
    skipped = chain_batch.SKIP_AFTER_DECLINE
    # (the damaged stream is kept whole from then on: chunks holding its events decline)
    assert taken[: skipped + 2] == [False] + [None] * skipped + [True]
    assert [f.kind for f in verifier.finish()] == [Kind.TAMPERED]
