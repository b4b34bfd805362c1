"""Holding back a client library's repeats: the Kafka client logs each reconnect failure at ERROR
every 100 ms per connection, about 70 lines a second from one replica while the broker is away
(docs/operations.md, "Logs"), burying the service's own lines and any log-based alerting.

``RepeatLimit`` lets the first of identical records (same logger, level and text) through, then
one a window, which says how many it left out. Only the loggers named are limited; the
service's own records always pass.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

CHATTY_LOGGERS = ("aiokafka",)
WINDOW_SECONDS = 60.0
MAX_REMEMBERED = 1024


@dataclass
class _Seen:
    since: float
    left_out: int = 0


class RepeatLimit(logging.Filter):
    def __init__(
        self,
        loggers: tuple[str, ...] = CHATTY_LOGGERS,
        window: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self._loggers = loggers
        self._window = window
        self._clock = clock
        self._seen: dict[tuple[str, int, str], _Seen] = {}
        self._lock = threading.Lock()  # the notify send thread logs too

    def _chatty(self, name: str) -> bool:
        return any(name == n or name.startswith(f"{n}.") for n in self._loggers)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._chatty(record.name):
            return True
        text = record.getMessage()
        key = (record.name, record.levelno, text)
        now = self._clock()
        with self._lock:
            seen = self._seen.get(key)
            if seen is not None and now - seen.since < self._window:
                seen.left_out += 1
                return False
            self._seen[key] = _Seen(now)
            if len(self._seen) > MAX_REMEMBERED:
                del self._seen[next(iter(self._seen))]  # the oldest
        if seen is not None and seen.left_out:
            record.msg = f"{text} ({seen.left_out} more like this in {self._window:g}s)"
            record.args = None
        return True
