"""``ikm audit``'s exit status tells a script what happened: 1 is an integrity finding (or
rebuild difference), 2 an audit that could not look. A broker that cannot be reached was a
traceback and status 1, as if tampering had been found."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ikm_cli.main import app


@pytest.fixture
def unreachable() -> str:
    """A local address nothing listens on (the port was just free)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"127.0.0.1:{port}"


def test_a_broker_out_of_reach_is_status_2_not_a_finding(
    unreachable: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IKM_DATA_DIR", str(tmp_path))
    (tmp_path / "subsidy.db").touch()  # rebuild asks for a live store before the log
    report = tmp_path / "report.json"
    for command in (
        ["audit", "replay", "--log-only", "--report", str(report)],
        ["audit", "replay", "--log-only", "--topic", "ikm.registry.enterprise.v9",
         "--report", str(report)],
        ["audit", "trail", "1234567890123"],
        ["audit", "rebuild", "subsidy"],
    ):  # fmt: skip
        result = CliRunner().invoke(app, [*command, "--kafka", unreachable])
        assert result.exit_code == 2, (command, result.output, result.exception)
        assert "cannot read the log" in result.output
        assert unreachable in result.output
    assert not report.exists()
