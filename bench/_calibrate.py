"""How fast this machine runs Python: a fixed workload's CPU time, printed first by ``make bench``.

The same code measured ~3x slower on one day's machine than on the day before's (the latency
bench's p50 67 ms against 19 ms), so absolute figures of two sessions compare only beside
this one. The workload is the kind of work a service does per request, fixed in size and
deterministic: pure-Python dict and string work, ``json`` dumps and loads of an enterprise-
sized document, ``hashlib.sha256`` over it (the outbox's chain hash), and SQLite inserts,
an indexed lookup and a commit in memory. ``calibration_ms`` is the least CPU time
(``time.process_time``) of a few rounds, which the machine's other load moves less than the
wall clock; the load average is printed beside it.

``python -m bench._calibrate`` prints it alone.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time

ROUNDS = 5
ITEMS = 6_000


def _document(i: int) -> dict[str, object]:
    return {
        "nib": f"{9_100_000_000_000 + i}",
        "name": f"CV Usaha Kecil Nomor {i}",
        "province": "32",
        "regency": "32.73",
        "kbli": "10792",
        "workforce": i % 97,
        "investment_rupiah": 150_000_000 + i,
        "products": ["keripik", "dodol", f"produk {i % 13}"],
        "owner": {"name": "Siti Aminah", "phone": "+6281234567890", "email": f"u{i}@contoh.id"},
    }


def workload() -> int:
    """One round; returns a checksum so no step can be skipped."""
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE t (id TEXT PRIMARY KEY, province TEXT, doc TEXT)")
    db.execute("CREATE INDEX t_province ON t (province, id)")
    checksum = 0
    previous = b"\x00" * 32
    for i in range(ITEMS):
        document = _document(i)
        fields = {k: str(v).upper() for k, v in document.items() if k != "owner"}
        checksum += sum(len(v) for v in fields.values())
        text = json.dumps(document, sort_keys=True, separators=(",", ":"))
        checksum += len(json.loads(text))
        previous = hashlib.sha256(previous + text.encode()).digest()
        db.execute("INSERT INTO t VALUES (?, ?, ?)", (document["nib"], fields["province"], text))
        if i % 64 == 63:
            db.commit()
    db.commit()
    checksum += db.execute("SELECT count(*) FROM t WHERE province = '32'").fetchone()[0]
    db.close()
    return checksum + previous[0]


def calibration_ms() -> float:
    """The least CPU time of ``ROUNDS`` rounds of ``workload``, in ms."""
    best = float("inf")
    for _ in range(ROUNDS):
        started = time.process_time()
        workload()
        best = min(best, time.process_time() - started)
    return best * 1000


def line(ms: float) -> str:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"machine calibration: {ms:.0f} ms CPU for a fixed workload (bench/_calibrate.py;"
        f" lower is faster), load average {load}"
    )


if __name__ == "__main__":
    print(line(calibration_ms()))
