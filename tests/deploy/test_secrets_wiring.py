"""Secrets reach the services from Secrets, never from a ConfigMap or a literal in a manifest:
every variable a settings class types ``SecretStr``, and ``MONGODB_URL`` (it carries the
database password), is a ``secretKeyRef`` wherever a Deployment sets it."""

from __future__ import annotations

import runpy
from typing import Any

import pytest

from tests.deploy.manifests import OVERLAYS, ROOT, by_kind, rendered

GEN = runpy.run_path(str(ROOT / "scripts" / "gen_config_reference.py"))


def secret_names(service: str) -> set[str]:
    [config] = [s for s in GEN["services"]() if s.name == service]
    return {v.name for v in config.env() if "Secret" in v.type} | {"MONGODB_URL"}


def misplaced(
    container: dict[str, Any], config_maps: dict[str, Any], secrets: set[str]
) -> list[str]:
    found = []
    for entry in container.get("env", []):
        if entry["name"] in secrets and "secretKeyRef" not in entry.get("valueFrom", {}):
            found.append(f"{entry['name']} not from a Secret")
    for source in container.get("envFrom", []):
        reference = source.get("configMapRef", {}).get("name")
        for key in config_maps.get(reference, {}).get("data", {}) if reference else ():
            if key in secrets:
                found.append(f"{key} in ConfigMap {reference}")
    return found


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_secret_setting_comes_from_a_secret(overlay: str) -> None:
    documents = rendered(overlay)
    config_maps = by_kind(documents, "ConfigMap")
    for name, deployment in by_kind(documents, "Deployment").items():
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        assert misplaced(container, config_maps, secret_names(name)) == [], name


def test_the_check_catches_a_literal_and_a_config_map() -> None:
    container = {
        "env": [{"name": "IKM_JWT_SECRET", "value": "oops"}],
        "envFrom": [{"configMapRef": {"name": "c"}}],
    }
    maps = {"c": {"data": {"MONGODB_URL": "mongodb://u:p@h"}}}
    assert misplaced(container, maps, secret_names("registry")) == [
        "IKM_JWT_SECRET not from a Secret",
        "MONGODB_URL in ConfigMap c",
    ]
