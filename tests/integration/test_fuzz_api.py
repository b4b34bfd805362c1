"""No input produces a 5xx, and every 2xx body matches its documented schema: a bounded,
deterministic schemathesis run against every service.

Each service runs for real (uvicorn on a loopback port, its lifespan on: a SQLite store, the
embedded broker, its relay and consumers) and schemathesis sends every operation of its
OpenAPI document a few generated requests as a ministry officer, valid and invalid alike.
A 5xx is a defect whatever the input; the run collects every one before failing so a single
report lists them all. Derandomized (fixed seed per operation) so CI sees the same requests
each time; ``IKM_FUZZ_EXAMPLES`` raises the count for a deeper local run.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from hypothesis import HealthCheck, settings
from schemathesis.generation import derive_operation_seed
from schemathesis.generation.hypothesis.builder import (
    HypothesisTestConfig,
    HypothesisTestMode,
    create_test,
)
from schemathesis.openapi import from_dict

from ikmkit.service.runtime import ServiceDefinition, create_service_app
from ikmkit.service.settings import ServiceSettings
from ikmkit.store.sqlite import SqliteStore
from services.notify.main import definition as notify_definition
from services.notify.settings import NotifySettings
from services.registry.main import definition as registry_definition
from services.registry.settings import RegistrySettings
from services.subsidy.main import definition as subsidy_definition
from services.subsidy.settings import SubsidySettings
from services.training.main import definition as training_definition
from services.training.settings import TrainingSettings
from tests.support.service import auth_headers

SEED = 20261201
EXAMPLES = int(os.environ.get("IKM_FUZZ_EXAMPLES", "12"))
MINISTRY = auth_headers("ministry")

SERVICES: dict[str, tuple[Callable[..., ServiceDefinition], type[ServiceSettings]]] = {
    "registry": (registry_definition, RegistrySettings),
    "subsidy": (subsidy_definition, SubsidySettings),
    "training": (training_definition, TrainingSettings),
    "notify": (notify_definition, NotifySettings),
}


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


def fuzz_operation(operation: Any, base_url: str, failures: list[str]) -> Counter[int]:
    """Examples, coverage (boundaries, wrong types, missing fields) and fuzzing, both positive
    and negative, as ``st run`` does; 5xx are recorded, not raised, so nothing shrinks."""
    statuses: Counter[int] = Counter()

    def call(case: Any) -> None:
        response = case.call(base_url=base_url, headers=MINISTRY, timeout=30)
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
            seed=derive_operation_seed(SEED, operation.label),
        ),
    )
    test()
    return statuses


@pytest.mark.parametrize("name", list(SERVICES))
def test_no_input_produces_a_5xx(name: str, kafka: str, tmp_path: Path) -> None:
    build, settings_type = SERVICES[name]
    service_settings = settings_type(kafka_bootstrap_servers=kafka, data_dir=tmp_path)
    definition = build(service_settings, store=SqliteStore(tmp_path / f"{name}.db"))
    # The HTTP surface only: without consumers nothing fuzzed turns into a notification, so no
    # webhook goes to a generated URL (traffic must stay on this machine).
    definition.consumers = ()
    with serving(definition) as (base_url, openapi):
        schema = from_dict(openapi)
        failures: list[str] = []
        statuses: Counter[int] = Counter()
        for result in schema.get_all_operations():
            statuses += fuzz_operation(result.ok(), base_url, failures)
    print(f"{name}: {sum(statuses.values())} requests, statuses {dict(sorted(statuses.items()))}")
    assert statuses.total() > 0
    assert not failures, f"{len(failures)} x 5xx from {name}:\n" + "\n".join(failures)
