"""What the per-event recomputation of ``ce_hash`` costs a consumer, in one process (so the
load of other jobs falls on both sides alike): the change's two per-event differences on,
then undone (no recomputation; every signed hash through the inbox of signed hashes, as
before ``ce_prevhash``), alternately, on signed events as the outbox writes them now:

    python -m bench._prevhash_ab check            # Authenticity.check alone, insights' mix
    python -m bench._prevhash_ab notify [rounds]  # bench._notify_alone's consumer
    python -m bench._prevhash_ab insights [rounds]  # bench._insights_alone's consumer
"""

from __future__ import annotations

import asyncio
import random
import sys
import time
from typing import Any

import bench._insights_enterprises
import bench._signed
import bench.notify
from bench import _insights_alone, _notify_alone
from bench._insights_enterprises import Envelopes
from bench._insights_mix import event_mix
from contracts.codec import decode
from ikmkit.messaging import authenticity, consumer

_BOUND = authenticity.hash_is_bound
_UNBOUND = consumer.EventConsumer._unbound


def _configure(after: bool) -> None:
    authenticity.hash_is_bound = _BOUND if after else (lambda attrs, payload: True)  # type: ignore[assignment]
    consumer.EventConsumer._unbound = _UNBOUND if after else consumer.EventConsumer._signed  # type: ignore[method-assign]


def _check() -> None:
    feed = Envelopes()  # one chain per aggregate, as the relay writes them
    records = [feed.record(e) for e in event_mix(random.Random(13))][:10_000]
    envelopes = [decode(bench._signed._signed_headers_of(h), v) for _, _, v, h in records]
    topics = [t for t, _, _, _ in records]
    check = bench._signed._Keyed().check
    assert all(check(t, e) is None for t, e in zip(topics, envelopes, strict=True))
    for after in (True, False) * 2:
        _configure(after)
        times = []
        for _ in range(5):
            started = time.process_time()
            for t, e in zip(topics, envelopes, strict=True):
                check(t, e)
            times.append(time.process_time() - started)
        label = "after " if after else "undone"
        print(f"{label} Authenticity.check {min(times) / len(topics) * 1e6:6.2f} us/event")


def main(argv: list[str]) -> None:
    for module in (bench._insights_enterprises, bench.notify):
        module.to_headers = bench._signed._signed_headers  # type: ignore[attr-defined]
    consumer.Authenticity = bench._signed._Keyed  # type: ignore[misc]
    which, rounds = argv[0], int(argv[1]) if len(argv) > 1 else 4
    if which == "check":
        _check()
        return
    run: Any = _notify_alone.run if which == "notify" else _insights_alone.run
    args = (20_000, 1000, None) if which == "notify" else (5000, None)
    for i in range(rounds):
        for after in (True, False) if i % 2 == 0 else (False, True):
            _configure(after)
            print("after " if after else "undone", end=" ", flush=True)
            asyncio.run(run(*args))


if __name__ == "__main__":
    main(sys.argv[1:])
