"""The log against the outboxes' published stream heads (pure comparison)."""

from __future__ import annotations

from ikmkit.audit.findings import Kind
from ikmkit.audit.heads import OutboxHeads, StreamHead
from ikmkit.audit.published import LogStream, compare_published

T = "ikm.registry.enterprise.v1"
OTHER = "ikm.training.course.v1"


def outbox(*heads: StreamHead, topics: tuple[str, ...] = (T,)) -> OutboxHeads:
    found = OutboxHeads()
    found.add("registry", "http://registry", topics, list(heads))
    return found


def logged(last: int, **hashes: str) -> LogStream:
    return LogStream(0, last, {int(k[1:]): v for k, v in hashes.items()})


def kinds(findings: list) -> list[tuple[Kind, str, int | None]]:
    return [(f.kind, f.subject, f.sequence) for f in findings]


def test_streams_the_log_lacks_or_ends_early_are_missing_from_where_the_log_stops() -> None:
    heads = outbox(StreamHead(T, "a", 3, "h3"), StreamHead(T, "b", 2, "g2"))
    found, summary = compare_published(heads, {(T, "a"): logged(1, s1="h1")})
    assert kinds(found) == [(Kind.MISSING, "a", 2), (Kind.MISSING, "b", 1)]
    assert "2 published events missing from the log from sequence 2" in found[0].detail
    assert (summary.published[T], summary.on_log[T], summary.missing_total) == (5, 1, 4)
    assert all(f.severity == "error" for f in found)


def test_a_head_hash_that_differs_is_reported_and_a_log_ahead_is_compared_at_the_head() -> None:
    heads = outbox(StreamHead(T, "a", 2, "h2"), StreamHead(T, "b", 2, "g2"))
    log = {(T, "a"): logged(2, s2="forged"), (T, "b"): logged(4, s2="g2", s4="g4")}
    found, summary = compare_published(heads, log)
    assert kinds(found) == [(Kind.HEAD_MISMATCH, "a", 2)]
    assert summary.missing_total == 0


def test_unsent_events_are_not_missing_but_a_warning() -> None:
    heads = outbox(StreamHead(T, "a", 5, "h5", unsent=2), StreamHead(T, "b", 3, "g3", unsent=1))
    log = {(T, "a"): logged(3, s3="h3"), (T, "b"): logged(1, s1="g1")}
    found, summary = compare_published(heads, log)
    assert kinds(found) == [(Kind.UNSENT, "a", 4), (Kind.MISSING, "b", 2)]
    assert found[0].severity == "warning"
    assert (summary.published[T], summary.unsent[T], summary.missing_total) == (5, 3, 1)


def test_streams_unknown_to_the_producers_outbox_are_reported_only_on_its_topics() -> None:
    heads = outbox(StreamHead(T, "a", 1, "h1"))
    log = {
        (T, "a"): logged(1, s1="h1"),
        (T, "forged"): logged(1, s1="x"),
        (OTHER, "c"): logged(1, s1="y"),  # no producer of this topic answered
    }
    found, summary = compare_published(heads, log)
    assert kinds(found) == [(Kind.NOT_IN_OUTBOX, "forged", 1)]
    assert summary.topics == [T]


def test_topics_and_aggregates_narrow_the_comparison() -> None:
    heads = outbox(StreamHead(T, "a", 1, "h1"), StreamHead(T, "b", 1, "g1"), topics=(T,))
    assert kinds(compare_published(heads, {}, subjects={"b"})[0]) == [(Kind.MISSING, "b", 1)]
    assert compare_published(heads, {}, topics=[OTHER])[0] == []
