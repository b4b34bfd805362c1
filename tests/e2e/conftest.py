from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.stack import Stack, start_stack


@pytest.fixture(scope="session")
def stack(kafka: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    data_dir: Path = tmp_path_factory.mktemp("stack")
    running = start_stack(kafka, data_dir)
    yield running
    running.stop()
