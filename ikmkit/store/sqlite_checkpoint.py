"""WAL checkpoints off the event loop.

SQLite checkpoints the WAL into the database file from inside whichever ``COMMIT`` pushes it
past ``wal_autocheckpoint`` pages: that commit copies the pages and fsyncs, tens of
milliseconds during which the service's event loop (where the store's statements run) serves
nobody. So the writer connection's automatic checkpoints are turned off and this thread, on
a connection of its own, checkpoints instead, every ``interval`` seconds: PASSIVE (it never
blocks the writer nor waits for it; one with nothing to copy costs microseconds). The
sqlite3 module releases the GIL while SQLite works, so the loop keeps running. At close a
final TRUNCATE checkpoint leaves an empty WAL behind.
"""

from __future__ import annotations

import logging
import sqlite3
import threading

log = logging.getLogger("ikmkit.store.sqlite")


class Checkpointer:
    """Checkpoints ``path``'s WAL on a thread of its own until ``stop``."""

    def __init__(self, path: str, *, interval: float = 0.1) -> None:
        self._path = path
        self._interval = interval
        self._due = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping = True
        self._due.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout=5000")
        try:
            while not self._stopping:
                self._due.wait(self._interval)
                self._checkpoint(conn, "PASSIVE")
            self._checkpoint(conn, "TRUNCATE")
        finally:
            conn.close()

    @staticmethod
    def _checkpoint(conn: sqlite3.Connection, mode: str) -> None:
        try:
            conn.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()
        except sqlite3.Error as exc:  # busy or locked: the next round tries again
            log.warning("WAL checkpoint (%s) failed: %s", mode, exc)
