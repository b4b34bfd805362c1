"""A started service has frozen its start-up heap, so full garbage collections later walk only
what it made since (ikmkit/service/heap.py: the ~60 ms pauses of the event loop they cost)."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

from ikmkit.service.heap import settle_heap
from services.registry.main import definition as registry_definition
from services.registry.settings import RegistrySettings
from tests.conftest import make_store
from tests.support.service import running_service


async def test_a_started_service_has_frozen_its_start_up_objects(
    kafka: str, tmp_path: Path
) -> None:
    gc.unfreeze()
    settings = RegistrySettings(kafka_bootstrap_servers=kafka)
    definition = registry_definition(settings, store=make_store("sqlite", tmp_path, None))
    try:
        async with running_service(definition) as reg:
            assert gc.get_freeze_count() > 100_000  # the frameworks' objects, not a handful
            assert (await reg.client.get("/healthz")).status_code == 200
    finally:
        gc.unfreeze()


class Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the collector frees it


def test_settling_collects_start_up_garbage_before_freezing() -> None:
    gc.unfreeze()
    gc.disable()  # only settle_heap may collect the cycle
    try:
        garbage = weakref.ref(Node())
        frozen = settle_heap()
        assert garbage() is None  # collected, not frozen for the process's life
        assert frozen == gc.get_freeze_count() > 0
    finally:
        gc.enable()
        gc.unfreeze()
