"""The rebuild's per-service tables name collections that exist (services keep evolving)."""

from __future__ import annotations

import pytest

from ikm_cli.audit_rebuild import (
    DERIVED_COLLECTIONS,
    SERVICES,
    SKIPPED_COLLECTIONS,
    VOLATILE_FIELDS,
    load_definition,
)


@pytest.mark.parametrize("service", SERVICES)
def test_rebuild_tables_name_real_collections(service: str) -> None:
    definition = load_definition(service)
    names = {spec.name for spec in definition.collections}
    for table in (DERIVED_COLLECTIONS, VOLATILE_FIELDS, SKIPPED_COLLECTIONS):
        assert set(table.get(service, ())) <= names, (service, table.get(service), names)


@pytest.mark.parametrize("service", ["subsidy", "training", "notify"])
def test_consumer_services_have_event_fed_state_to_rebuild(service: str) -> None:
    definition = load_definition(service)
    assert definition.consumers, f"{service} has no consumers any more"
    assert DERIVED_COLLECTIONS[service]


def test_unknown_service_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown service"):
        load_definition("payments")


def test_rebuild_command_refuses_without_a_live_store(tmp_path, monkeypatch) -> None:
    from typer.testing import CliRunner

    from ikm_cli.main import app

    monkeypatch.setenv("IKM_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("MONGODB_URL", raising=False)
    result = CliRunner().invoke(app, ["audit", "rebuild", "notify", "--kafka", "127.0.0.1:1"])
    assert result.exit_code == 2
    assert "no live store" in result.output
    unknown = CliRunner().invoke(app, ["audit", "rebuild", "payments", "--kafka", "127.0.0.1:1"])
    assert unknown.exit_code == 2
