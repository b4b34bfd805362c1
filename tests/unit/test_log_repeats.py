"""RepeatLimit: the first of identical client records passes, then one a window saying how many
were left out; other text, other loggers and the service's own records always pass."""

from __future__ import annotations

import logging

from ikmkit.telemetry.log_repeats import RepeatLimit


def record(name: str, msg: str, *args: object, level: int = logging.ERROR) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, msg, args, None)


def test_repeats_pass_once_a_window_with_the_count_left_out() -> None:
    now = [0.0]
    limit = RepeatLimit(window=60, clock=lambda: now[0])
    same = ("aiokafka", "Unable connect to node with id %s: %s", 1, "refused")
    assert limit.filter(record(*same))
    for _ in range(599):
        now[0] += 0.1
        assert not limit.filter(record(*same))
    now[0] += 0.2
    summary = record(*same)
    assert limit.filter(summary)
    assert (
        summary.getMessage()
        == "Unable connect to node with id 1: refused (599 more like this in 60s)"
    )
    assert not limit.filter(record(*same))


def test_other_text_levels_and_loggers_pass() -> None:
    limit = RepeatLimit(clock=lambda: 0.0)
    assert limit.filter(record("aiokafka", "node %s down", 1))
    assert limit.filter(record("aiokafka", "node %s down", 2))  # another node: news
    assert limit.filter(record("aiokafka", "node %s down", 1, level=logging.WARNING))
    assert limit.filter(record("aiokafka.consumer.fetcher", "node %s down", 1))
    for _ in range(3):  # the service's own lines are never held back
        assert limit.filter(record("ikmkit.messaging.outbox", "outbox: could not check the log"))
        assert limit.filter(record("aiokafkaesque", "not the client"))
