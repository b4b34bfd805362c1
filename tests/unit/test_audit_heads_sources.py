"""Where ``ikm audit replay`` takes the outboxes' heads from; it never defaults to nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ikm_cli import audit_heads
from ikm_cli.audit_heads import SERVICES_ENV, HeadsSources, NoHeadsSource, resolve_sources


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "dev.json"
    monkeypatch.setattr(audit_heads, "STATE_FILE", path)
    monkeypatch.delenv(SERVICES_ENV, raising=False)
    return path


def test_options_then_environment_then_the_dev_stack_of_the_same_log(
    state: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state.write_text(
        json.dumps({"kafka": "k:1", "services": {"registry": "http://r", "notify": "http://n"}})
    )
    assert resolve_sources([], [], "k:1") == HeadsSources(["http://r", "http://n"])
    with pytest.raises(NoHeadsSource, match="--log-only"):
        resolve_sources([], [], "another:9092")  # the dev stack's outboxes are not that log's
    monkeypatch.setenv(SERVICES_ENV, "http://a, registry=http://b")
    assert resolve_sources([], [], "k:1") == HeadsSources(["http://a", "http://b"])
    assert resolve_sources(["subsidy=http://s"], ["registry"], "k:1") == HeadsSources(
        ["http://s"], ["registry"]
    )


def test_no_source_at_all_is_refused_and_unknown_stores_are_named(state: Path) -> None:
    with pytest.raises(NoHeadsSource, match="no services to compare the log with"):
        resolve_sources([], [], "k:1")
    with pytest.raises(NoHeadsSource, match="'ledger'"):
        resolve_sources([], ["ledger"], "k:1")
