from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ikm_cli.devextras import SmtpSink
from tests.support.stack import Stack, start_stack


@pytest.fixture(scope="package")
def smtp_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture(scope="package")
def stack(
    kafka: str, smtp_sink: SmtpSink, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """All five services as separate processes on the session's broker, with an SMTP sink.

    Package-scoped: the stack's consumers (groups ``notify``, ``subsidy``, ``training``,
    ``insights``) must be gone before other packages' tests run those services in-process in
    the same groups.
    """
    data_dir: Path = tmp_path_factory.mktemp("stack")
    env = {"NOTIFY_SMTP_HOST": smtp_sink.host, "NOTIFY_SMTP_PORT": str(smtp_sink.port)}
    running = start_stack(kafka, data_dir, env)
    yield running
    running.stop()
