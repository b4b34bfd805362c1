"""A broker outage is said in the log, not shouted: the Kafka client's reconnect errors, which it
repeats every 100 ms per connection (measured: 2,100 ERROR lines in 30 s from one notify
replica, 8 of them the service's own), come once per message per minute, with the count of
those left out. The service's own warnings are never held back."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from ikmdev.infra import EmbeddedKafka
from services.notify.main import definition as notify_definition
from services.notify.settings import NotifySettings
from tests.conftest import make_store
from tests.support.service import running_service


def entries(text: str) -> list[dict[str, Any]]:
    found = []
    for line in text.splitlines():
        if line.startswith("{"):
            found.append(json.loads(line))
    return found


async def test_a_broker_outage_logs_each_client_error_once_a_minute(
    own_broker: EmbeddedKafka, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = NotifySettings(kafka_bootstrap_servers=own_broker.bootstrap_servers)
    definition = notify_definition(settings, store=make_store("sqlite", tmp_path, None))
    async with running_service(definition) as svc:
        capsys.readouterr()
        assert own_broker.pid is not None
        os.kill(own_broker.pid, signal.SIGKILL)
        await asyncio.sleep(8)
        during = entries(capsys.readouterr().err)
        assert svc.runtime.name == "notify"

    client = [e for e in during if e["logger"].startswith("aiokafka")]
    assert client, "the outage must show in the log"
    repeats = Counter((e["logger"], e["message"]) for e in client)
    # Each distinct line once (the client's messages quote the node and the error, so a few
    # variants of one template may pass); before: about 70 lines a second.
    assert len(client) <= 12, Counter(e["message"][:40] for e in client).most_common(5)
    assert max(repeats.values()) == 1, repeats.most_common(3)
