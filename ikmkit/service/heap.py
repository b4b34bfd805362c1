"""The heap a service starts with, kept out of the cyclic garbage collector's full passes.

A service process starts with a few hundred thousand long-lived objects (FastAPI, pydantic's
validators, aiokafka, OpenTelemetry, the contracts). A full (oldest-generation) collection
walks all of them: ~60 ms of a stopped event loop in the registry, about once per 3,000
registrations, each pause a run of requests and events late by that much (the p99 of the
latency targets, issue #14). Frozen after start-up, they are left out of every later pass;
reference counting still frees them, only reference cycles among them would stay, and the
collection just before the freeze clears the ones start-up left.
"""

from __future__ import annotations

import gc
import logging

log = logging.getLogger("ikmkit.service.heap")


def settle_heap() -> int:
    """Collect start-up's garbage, then freeze what is left; returns how many objects were
    frozen (all tracked objects alive now)."""
    gc.collect()
    gc.freeze()
    frozen = gc.get_freeze_count()
    log.debug("froze %d start-up objects", frozen)
    return frozen
