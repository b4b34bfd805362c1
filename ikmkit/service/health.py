"""/healthz (the process answers) and /readyz (the service can do its work).

/readyz runs a list of named checks concurrently, each bounded in time, and is
503 when any fails. A check returns ``CheckResult``: ``status`` is ``"ok"`` or a
short statement of what is wrong; ``details`` are extra figures merged into the
answer. The answer keeps one key per check under ``checks`` (its status) plus
the details, and ``failing`` lists the failed checks' names::

    {"status": "not ready", "failing": ["broker"],
     "checks": {"store": "ok", "outbox": "ok", "outbox_backlog": 0, ...,
                "broker": "unreachable: no answer from 127.0.0.1:9092 within 2s",
                "consumers": "ok"}}

A check marked ``degrades`` (parked events) makes the answer ``"degraded"`` rather
than ``"not ready"``: still 503, but a supervisor can tell "waits for an operator"
from "cannot work". Add a check by appending a ``NamedCheck`` to
``default_checks()`` (every service) or to a ``ServiceDefinition.readiness`` (one service).
/healthz checks nothing but the process: restarting a service whose broker is
down would not bring the broker back. /readyz/traffic, the orchestrator's readiness probe, runs
only the checks marked ``traffic``: a fault every replica shares and HTTP can work around (the
broker, parked events) must not take every replica out of the Service at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field

from ikmkit.messaging.outbox import outbox_backlog
from ikmkit.messaging.outbox_parking import parked_count

if TYPE_CHECKING:
    from ikmkit.service.runtime import Runtime

OK = "ok"
CHECK_TIMEOUT_SECONDS = 3.0
"""A check that has not answered by then fails (a hung dependency is not a ready one)."""
STORE_PING_SECONDS = 2.0
BROKER_PING_SECONDS = 2.0


class Readiness(BaseModel):
    """``/readyz``'s answer (200 when ready, else 503 with the same body)."""

    status: Literal["ready", "degraded", "not ready"]
    failing: list[str] = Field(description="The checks that failed")
    checks: dict[str, Any] = Field(
        description="Each check's status (`ok` or why not) and the figures checks report"
        " (backlog, parked events, stalled consumers)"
    )


class Health(BaseModel):
    status: Literal["ok"]


@dataclass(frozen=True)
class CheckResult:
    status: str = OK
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == OK


ReadinessCheck = Callable[["Runtime"], Awaitable[CheckResult]]


@dataclass(frozen=True)
class NamedCheck:
    name: str
    run: ReadinessCheck
    degrades: bool = False
    """A failure means "degraded" (the service works, something waits for an operator),
    not "not ready"; /readyz is 503 either way, so nobody mistakes it for healthy."""
    traffic: bool = True
    """A failure takes the replica out of its Service (``/readyz/traffic``, the orchestrator's
    readiness probe). False for what HTTP does not need and every replica shares (the broker,
    and the outbox backlog an outage grows: commands go to the outbox meanwhile; parked
    events) or what fewer requests cannot mend (a stalled consumer): failing there would take
    every replica out at once, an API outage that the outbox exists to avoid."""


async def check_store(runtime: Runtime) -> CheckResult:
    try:
        await asyncio.wait_for(runtime.store.ping(), STORE_PING_SECONDS)
    except Exception as exc:
        return CheckResult(f"unreachable: {type(exc).__name__}")
    return CheckResult()


async def check_outbox(runtime: Runtime) -> CheckResult:
    limit = runtime.settings.ready_max_outbox_backlog
    try:
        backlog = await outbox_backlog(runtime.store)
    except Exception as exc:
        return CheckResult(f"unreadable: {type(exc).__name__}")
    details = {
        "outbox_backlog": backlog.pending,
        "outbox_oldest_age_seconds": round(backlog.oldest_age_seconds, 3),
    }
    if backlog.pending > limit:
        return CheckResult(f"backlog {backlog.pending} > {limit}", details)
    return CheckResult(OK, details)


async def check_broker(runtime: Runtime) -> CheckResult:
    """A real round trip to the cluster; FastStream's ping answers False, not an error."""
    try:
        reachable = await runtime.broker.ping(timeout=BROKER_PING_SECONDS)
    except Exception as exc:
        return CheckResult(f"unreachable: {type(exc).__name__}")
    if not reachable:
        servers = runtime.settings.kafka_bootstrap_servers
        return CheckResult(f"unreachable: no answer from {servers} within {BROKER_PING_SECONDS:g}s")
    return CheckResult()


async def check_consumers(runtime: Runtime) -> CheckResult:
    stalls = runtime.progress.stalled()
    if not stalls:
        return CheckResult()
    return CheckResult(
        "stalled: " + "; ".join(s.describe() for s in stalls),
        {"stalled": [asdict(s) | {"seconds": round(s.seconds, 1)} for s in stalls]},
    )


async def check_parked(runtime: Runtime) -> CheckResult:
    parked = await parked_count(runtime.store)
    if parked:
        return CheckResult(f"{parked} events parked (ikm outbox parked)", {"parked_events": parked})
    return CheckResult(OK, {"parked_events": 0})


def default_checks() -> list[NamedCheck]:
    return [
        NamedCheck("store", check_store),
        NamedCheck("outbox", check_outbox, traffic=False),
        NamedCheck("broker", check_broker, traffic=False),
        NamedCheck("consumers", check_consumers, traffic=False),
        NamedCheck("parked", check_parked, degrades=True, traffic=False),
    ]


async def _bounded(check: NamedCheck, runtime: Runtime) -> CheckResult:
    try:
        return await asyncio.wait_for(check.run(runtime), CHECK_TIMEOUT_SECONDS)
    except TimeoutError:
        return CheckResult(f"no answer within {CHECK_TIMEOUT_SECONDS:g}s")
    except Exception as exc:
        return CheckResult(f"failed: {type(exc).__name__}")


async def readiness(runtime: Runtime, checks: Sequence[NamedCheck]) -> tuple[bool, dict[str, Any]]:
    results = await asyncio.gather(*(_bounded(c, runtime) for c in checks))
    answer: dict[str, Any] = {}
    failing: list[str] = []
    blocking = False
    for check, result in zip(checks, results, strict=True):
        answer[check.name] = result.status
        answer.update(result.details)
        if not result.ok:
            failing.append(check.name)
            blocking = blocking or not check.degrades
    status = "not ready" if blocking else "degraded" if failing else "ready"
    return not failing, {"status": status, "failing": failing, "checks": answer}


async def _answer(
    request: Request, response: Response, checks: Sequence[NamedCheck]
) -> dict[str, Any]:
    """Both readiness routes: ``checks`` run, 200 when all pass, else 503 with the same body."""
    ready, body = await readiness(request.app.state.runtime, checks)
    response.status_code = 200 if ready else 503
    return body


def health_router(checks: Sequence[NamedCheck]) -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/healthz", summary="Process is alive", response_model=Health)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get(
        "/readyz",
        summary="Store, outbox, broker and consumers fit for work",
        responses={503: {"description": "A check failed; `failing` names it", "model": Readiness}},
        response_model=Readiness,
    )
    async def readyz(request: Request, response: Response) -> dict[str, Any]:
        return await _answer(request, response, checks)

    gating = [check for check in checks if check.traffic]

    @router.get(
        "/readyz/traffic",
        summary="Fit to take HTTP requests (the orchestrator's readiness probe)",
        description="Only the checks whose failure HTTP cannot work around (the store). A"
        " broker outage, the outbox backlog it grows, a stalled consumer or a parked event make"
        " /readyz 503 but leave the replica serving: commands wait in the outbox.",
        responses={503: {"description": "A check failed; `failing` names it", "model": Readiness}},
        response_model=Readiness,
    )
    async def readyz_traffic(request: Request, response: Response) -> dict[str, Any]:
        return await _answer(request, response, gating)

    @router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
    async def prometheus_metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router
