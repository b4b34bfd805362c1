"""No input produces a 5xx, and every 2xx body matches its documented schema: a bounded,
deterministic schemathesis run against every service.

Each service runs for real (uvicorn on a loopback port, its lifespan on: a SQLite store, the
embedded broker, its relay and consumers) and schemathesis sends every operation of its
OpenAPI document a few generated requests as a ministry officer, valid and invalid alike.
A 5xx is a defect whatever the input; the run collects every one before failing so a single
report lists them all. Deterministic (``tests.support.fuzz.SEED`` mixed with each operation's
label) so CI sees the same requests each time; ``IKM_FUZZ_EXAMPLES`` raises the count for a
deeper local run, ``IKM_FUZZ_SEED`` draws other cases (and reproduces a failure seen with one).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from schemathesis.openapi import from_dict

from ikmkit.service.runtime import ServiceDefinition
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
from tests.support.fuzz import fuzz_operation, serving

SERVICES: dict[str, tuple[Callable[..., ServiceDefinition], type[ServiceSettings]]] = {
    "registry": (registry_definition, RegistrySettings),
    "subsidy": (subsidy_definition, SubsidySettings),
    "training": (training_definition, TrainingSettings),
    "notify": (notify_definition, NotifySettings),
}


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
