"""The consumer's shared per-event plumbing, piece by piece (CPU µs per event, best of 5), on
the insights bench's event mix enveloped as the relay does:

    python -m bench._plumbing_micro [--keys]

``--keys`` signs the events and configures the owners' public keys (as production does).
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable
from typing import Any

from bench._insights_enterprises import Envelopes
from bench._insights_mix import event_mix
from contracts.catalog import owner_of
from contracts.chain import signed_message
from contracts.codec import decode, decode_attributes, header_map
from ikmkit.messaging.authenticity import Authenticity
from ikmkit.telemetry.otel import EventSpans


def _best(label: str, n: int, run: Callable[[], Any]) -> None:
    times = []
    for _ in range(5):
        started = time.process_time()
        run()
        times.append(time.process_time() - started)
    print(f"{label:<28} {min(times) / n * 1e6:6.2f} us/event")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--keys", action="store_true")
    args = parser.parse_args()
    feed = Envelopes()
    records = [feed.record(e) for e in event_mix(random.Random(13))][:10_000]
    n = len(records)
    texts = [header_map(h) for _, _, _, h in records]
    envelopes = [decode(h, v) for _, _, v, h in records]
    topics = [t for t, _, _, _ in records]
    _best("header_map", n, lambda: [header_map(h) for _, _, _, h in records])
    _best("decode_attributes", n, lambda: [decode_attributes(t) for t in texts])
    _best("decode (all)", n, lambda: [decode(h, v) for _, _, v, h in records])
    keys: dict[str, str] = {}
    if args.keys:
        from ikmkit.messaging.signing import generate_keypair, signer_from_key

        pairs = {owner_of(t): generate_keypair() for t in set(topics)}
        keys = {o: pub for o, (_, pub) in pairs.items() if o}
        signers = {o: signer_from_key(priv) for o, (priv, _) in pairs.items() if o}
        envelopes = [
            type(e)(
                attrs=e.attrs.model_copy(
                    update={
                        "signature": signers[owner_of(t)](  # type: ignore[index]
                            signed_message(e.attrs.hash, e.attrs.prevhash).decode()
                        )
                    }
                ),
                event=e.event,
                payload=e.payload,
            )
            for t, e in zip(topics, envelopes, strict=True)
        ]
    auth = Authenticity(keys)
    _best(
        "authenticity",
        n,
        lambda: [auth.check(t, e) for t, e in zip(topics, envelopes, strict=True)],
    )

    def spans() -> None:
        s = EventSpans("g")
        for t, e in zip(topics, envelopes, strict=True):
            a = e.attrs
            s.start(
                a.traceparent,
                topic=t,
                event_id=a.id,
                event_type=a.type,
                partition=0,
                offset=1,
                key=b"k",
            )
        with s:
            pass

    _best("spans (batch path)", n, spans)


if __name__ == "__main__":
    main()
