"""Load against one service process, every request a new enterprise: wrk (the C load
generator, closed loop, for saturation) and an open-loop generator (a fixed arrival rate).

The Lua script gives each request a fresh NIB (run tag, thread, counter) in the same JSON
document, and reports wrk's own counts and latency percentiles on one line.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bench.common import cpu_seconds

WRK_SECONDS = 20
WRK_THREADS = 2
WRK_CONNECTIONS = 64

_WRK_SCRIPT = """
-- Every request registers a new enterprise: NIB = run tag (4), thread (1), counter (8).
local threads = {}
function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end
local counter = 0
local body = '%(body)s'
local headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer %(token)s"}
request = function()
  counter = counter + 1
  local nib = string.format("%(tag)s%%d%%08d", tid, counter)
  return wrk.format("POST", "/enterprises", headers, (string.gsub(body, "NIB", nib, 1)))
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRK requests=%%d duration_us=%%d non2xx=%%d connect=%%d read=%%d write=%%d timeout=%%d" ..
    " mean_us=%%.0f p50_us=%%d p99_us=%%d max_us=%%d\\n",
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency.mean, latency:percentile(50), latency:percentile(99), latency.max))
end
"""


@dataclass(frozen=True)
class LoadResult:
    generator: str
    requests: int
    failures: int
    seconds: float
    latency_ms: dict[str, float]
    server_cpu: float | None = None
    """CPU seconds the server process used during the load (user + system), if measured."""
    unanswered: int = 0
    """Of ``failures``, requests that got no answer (socket errors, timeouts): the server
    may have stored them, so the stored = counted check allows for them."""

    def cpu_ms_per_request(self) -> float | None:
        done = self.requests - self.failures
        return None if self.server_cpu is None or not done else self.server_cpu * 1000 / done


def _wrk_script(body: dict[str, object], token: str, tag: str) -> str:
    body = {**body, "nib": "NIB"}
    return _WRK_SCRIPT % {"body": json.dumps(body), "token": token, "tag": tag}


def wrk_load(
    url: str,
    body: dict[str, object],
    token: str,
    tag: str,
    seconds: int,
    workdir: Path,
    pid: int | None = None,
) -> LoadResult:
    """``seconds`` of wrk against ``url``; ``body`` is the document (its ``nib`` replaced);
    with the server's ``pid``, the CPU it used meanwhile (a figure the machine's other load
    barely moves, unlike requests per second)."""
    script = workdir / f"register-{tag}.lua"
    script.write_text(_wrk_script(body, token, tag))
    # A generous timeout: a slow response is latency to report, not a failed registration.
    command = [
        "wrk",
        f"-t{WRK_THREADS}",
        f"-c{WRK_CONNECTIONS}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
    ]
    command += ["--script", str(script)]
    cpu_before = cpu_seconds(pid) if pid else 0.0
    out = subprocess.run(
        [*command, url], capture_output=True, text=True, check=True, timeout=seconds + 60
    ).stdout
    cpu = cpu_seconds(pid) - cpu_before if pid else None
    match = re.search(r"^WRK (.*)$", out, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    stats = {k: float(v) for k, v in (pair.split("=") for pair in match.group(1).split())}
    failures = sum(stats[k] for k in ("non2xx", "connect", "read", "write", "timeout"))
    if failures:
        print(f"wrk errors: {match.group(1)}")
    return LoadResult(
        "wrk",
        int(stats["requests"]),
        int(failures),
        stats["duration_us"] / 1e6,
        {k: stats[f"{k}_us"] / 1000 for k in ("mean", "p50", "p99", "max")},
        cpu,
        int(sum(stats[k] for k in ("read", "write", "timeout"))),
    )


def open_loop_load(
    url: str, token: str, tag: str, rate: float, seconds: float
) -> tuple[float, float, int]:
    """p50 and p99 (ms, from each request's scheduled send time) and the failures of ``rate``
    registrations a second for ``seconds``, each sent on schedule whether or not the earlier
    ones were answered (``bench.latency``'s generator; wrk cannot hold a rate)."""
    import asyncio

    from bench._latency_probes import LeanHttp
    from bench.latency import _load, _percentiles

    async def measure() -> tuple[float, float, int]:
        http = LeanHttp(url, token)
        await http.open(WRK_CONNECTIONS)
        try:
            phase = await _load(http, rate, seconds, tag, 0)
        finally:
            await http.close()
        ms = _percentiles(phase.http_ms)
        return ms["p50"], ms["p99"], sum(status not in (200, 201) for status in phase.statuses)

    return asyncio.run(measure())
