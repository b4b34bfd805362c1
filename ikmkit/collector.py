"""CPython's cyclic garbage collector, paused around work that makes many young objects which
all stay alive until the work ends (a consumer's batch, an audit replay's fetches).

Every collection such work triggers finds nothing to free, promotes the objects and soon
forces full collections over the whole heap: 15-30 % of a consumer's CPU, a fifth of a
replay's (docs/performance.md). Reference counting frees them when the work ends; the
collector runs again then, raised or not. A collector someone else turned off stays off.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
