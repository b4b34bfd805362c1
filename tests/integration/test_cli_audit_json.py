"""``ikm audit replay|trail --json``: the report alone on stdout, as for every other command."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from contracts.catalog import all_topics
from ikm_cli.main import app
from ikmdev.infra import EmbeddedKafka
from ikmkit.messaging.kafka_topics import ensure_topics


@pytest.fixture(scope="module")
def empty_log() -> Iterator[str]:
    broker = EmbeddedKafka().start()
    asyncio.run(ensure_topics(broker.bootstrap_servers, all_topics()))
    yield broker.bootstrap_servers
    broker.stop()


def test_replay_json_is_the_report_it_writes(empty_log: str, tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    args = ["audit", "replay", "--log-only", "--kafka", empty_log, "--report", str(report)]
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == json.loads(report.read_text())
    assert json.loads(result.stdout)["totals"]["selected"] == 0
    assert f"report: {report}" in result.stderr


def test_the_report_path_is_printed_as_it_is(empty_log: str, tmp_path: Path) -> None:
    """A long path was wrapped at 80 columns when stderr is a pipe, and a folder named like
    ``[final]`` was read as markup and left out: a script reading the line got another path."""
    folder = tmp_path / ("reports [final] " + "x" * 80)
    folder.mkdir()
    report = folder / "r.json"
    args = ["audit", "replay", "--log-only", "--kafka", empty_log, "--report", str(report)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert f"report: {report}\n" in result.stderr


def test_trail_json_is_the_trail(empty_log: str, tmp_path: Path) -> None:
    output = tmp_path / "t.json"
    nib = "1234567890123"
    args = ["audit", "trail", nib, "--kafka", empty_log, "--output", str(output), "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"nib": nib, "events": [], "findings": []}
    assert json.loads(output.read_text()) == json.loads(result.stdout)
