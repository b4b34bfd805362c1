"""Schemathesis fuzzing of a service's OpenAPI operations against the running service."""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from hypothesis import HealthCheck, seed, settings
from schemathesis.generation.hypothesis.builder import (
    HypothesisTestConfig,
    HypothesisTestMode,
    create_test,
)
from schemathesis.openapi import from_dict
from schemathesis.transport.requests import ManagedCookiesSession

from ikmkit.service.runtime import ServiceDefinition, create_service_app
from tests.support.service import auth_headers


@contextmanager
def serving(definition: ServiceDefinition) -> Iterator[tuple[str, dict[str, Any]]]:
    """The service on a free loopback port, in a thread with its own event loop."""
    app = create_service_app(definition)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive(), "the service did not start"
        assert time.monotonic() < deadline, "the service did not start in 60 s"
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", app.openapi()
    finally:
        server.should_exit = True
        thread.join(30)


def fuzz_service(definition: ServiceDefinition) -> tuple[Counter[int], list[str]]:
    """Every operation of the service's OpenAPI document fuzzed against it running: the
    statuses it answered and the failures (5xx, 2xx bodies off their schema)."""
    failures: list[str] = []
    statuses: Counter[int] = Counter()
    # One keep-alive session for the whole run, as ``st run`` has: a TCP connection (and a
    # requests session) per case was a good part of each request's cost. Cookies a response
    # sets are dropped after each case, and without the session's default headers (which
    # case.call would add) each request carries exactly the headers it had on its own.
    with serving(definition) as (base_url, openapi), ManagedCookiesSession() as session:
        session.headers.clear()
        for result in from_dict(openapi).get_all_operations():
            statuses += fuzz_operation(result.ok(), base_url, failures, session)
    return statuses, failures


def fuzz_operation(
    operation: Any, base_url: str, failures: list[str], session: Any = None
) -> Counter[int]:
    """Examples, coverage (boundaries, wrong types, missing fields) and fuzzing, both positive
    and negative, as ``st run`` does; 5xx are recorded, not raised, so nothing shrinks."""
    statuses: Counter[int] = Counter()

    def call(case: Any) -> None:
        response = case.call(base_url=base_url, session=session, headers=MINISTRY, timeout=30)
        statuses[response.status_code] += 1
        if response.status_code >= 500:
            failures.append(
                f"{response.status_code} {case.method} {case.formatted_path} "
                f"query={case.query!r} body={str(case.body)[:300]!r}"
            )
        elif 200 <= response.status_code < 300:
            # What a service answers is what its OpenAPI says (types, patterns, ranges).
            try:
                operation.validate_response(response)
            except Exception as exc:
                failures.append(
                    f"{response.status_code} {case.method} {case.formatted_path}: body does not"
                    f" match its schema: {str(exc)[:600]}"
                )

    # create_test is what schemathesis' own pytest plugin builds each operation's test with;
    # its coverage mode (boundaries, huge integers, wrong types) found the fiscal_year 500s,
    # which positive-only ``operation.as_strategy()`` did not within a bounded run.
    test = create_test(
        operation=operation,
        test_func=call,
        config=HypothesisTestConfig(
            project=operation.schema.config,
            modes=list(HypothesisTestMode),
            settings=settings(
                max_examples=EXAMPLES,
                derandomize=True,
                database=None,
                deadline=None,
                suppress_health_check=list(HealthCheck),
            ),
        ),
    )
    seed(CASES_SEED)(test)()
    return statuses


# The seed every operation's cases are drawn with. With derandomize, schemathesis drops its
# own seed and Hypothesis seeds from a digest of the test function's source, i.e. of ``call``
# above: any edit to it changed every case sent. This is that digest as it was (so the run
# sends the very requests it always did); pinned, an edit to ``call`` no longer changes them.
CASES_SEED = int(
    "36e6b0b4c3cbb5802991856c06c441ea06894e5a54ed80f947ac3b7f82e118cd"
    "fec6c3873934dad85841d0b07134bf6b",
    16,
)


EXAMPLES = int(os.environ.get("IKM_FUZZ_EXAMPLES", "12"))


MINISTRY = auth_headers("ministry")
