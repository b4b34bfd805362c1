"""No drift: the image entrypoint, compose file and Kubernetes manifests name the same
services, ports and environment variables as the settings classes, read at test time.

Rules: every service with a settings class is deployed everywhere, on its settings port;
a manifest sets only variables some settings class reads (or documented standard ones:
OTEL_*, IKM_LOG_LEVEL); the variables a settings class requires, and those every
deployment must set (broker, MongoDB, JWT secret), are present.
"""

from __future__ import annotations

import importlib
import re
import runpy
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.manifests import DEPLOY, OVERLAYS, ROOT, by_kind, load_compose, rendered

GEN = runpy.run_path(str(ROOT / "scripts" / "gen_config_reference.py"))
SERVICES = {service.name: service for service in GEN["services"]()}
ENTRYPOINT = DEPLOY / "docker" / "entrypoint.sh"


def known_variables() -> set[str]:
    return {name for service in SERVICES.values() for name in service.env_names()}


def check_environment(where: str, service: str, names: set[str]) -> None:
    config = SERVICES[service]
    unread = {
        n for n in names if n not in known_variables() and not GEN["allowed_without_settings"](n)
    }
    assert not unread, (
        f"{where}: {service} sets variables no settings class reads: {sorted(unread)}"
    )
    foreign = {
        n
        for n in names
        if any(n.startswith(other.prefix) for other in SERVICES.values() if other.name != service)
    }
    assert not foreign, f"{where}: {service} sets another service's variables: {sorted(foreign)}"
    required = {v.name for v in config.env() if v.required} | set(GEN["DEPLOYMENT_REQUIRED"])
    missing = required - names
    assert not missing, f"{where}: {service} lacks required variables {sorted(missing)}"


def test_the_five_services_have_settings_classes() -> None:
    assert list(SERVICES) == ["registry", "subsidy", "training", "notify", "insights"]
    assert [s.port for s in SERVICES.values()] == [8001, 8002, 8003, 8004, 8005]


def test_entrypoint_runs_every_service_on_its_settings_port() -> None:
    text = ENTRYPOINT.read_text(encoding="utf-8")
    cases = dict(
        (name, (variable, int(default)))
        for name, variable, default in re.findall(
            r'^\s*(\w+)\)\s+port="\$\{(\w+):-(\d+)\}"', text, flags=re.MULTILINE
        )
    )
    assert set(cases) == set(SERVICES)
    for name, (variable, default) in cases.items():
        assert variable == f"{SERVICES[name].prefix}PORT"
        assert variable in SERVICES[name].env_names()
        assert default == SERVICES[name].port
        main = importlib.import_module(f"services.{name}.main")
        assert callable(main.create_app), f"services.{name}.main:create_app"
    assert 'uvicorn "services.${service}.main:create_app" --factory' in text
    exposed = re.findall(r"^EXPOSE (.+)$", (ROOT / "Dockerfile").read_text(), flags=re.MULTILINE)
    assert {int(p) for p in exposed[0].split()} == {s.port for s in SERVICES.values()}


def test_the_image_and_ikm_dev_keep_idle_connections_alike_and_past_the_ingress() -> None:
    """Both start uvicorn with the same keep-alive, and it outlasts ingress-nginx's upstream
    keep-alive (60 s), which would otherwise send requests on connections being closed."""
    from ikm_cli.launcher import KEEP_ALIVE_SECONDS

    text = ENTRYPOINT.read_text(encoding="utf-8")
    found = re.findall(r'--timeout-keep-alive "\$\{UVICORN_TIMEOUT_KEEP_ALIVE:-(\d+)\}"', text)
    assert [int(seconds) for seconds in found] == [KEEP_ALIVE_SECONDS]
    assert KEEP_ALIVE_SECONDS > 60
    assert GEN["allowed_without_settings"]("UVICORN_TIMEOUT_KEEP_ALIVE")


def test_compose_runs_every_service_with_its_settings() -> None:
    services = load_compose()["services"]
    deployed = {name: s for name, s in services.items() if s.get("command", [None])[0] in SERVICES}
    assert set(deployed) == set(SERVICES)
    for name, service in deployed.items():
        port = SERVICES[name].port
        assert service["command"] == [name]
        assert service["ports"] == [f"{port}:{port}"]
        assert f"127.0.0.1:{port}/readyz" in " ".join(service["healthcheck"]["test"])
        check_environment("compose", name, set(service["environment"]))


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_kubernetes_runs_every_service_with_its_settings(overlay: str) -> None:
    documents = rendered(overlay)
    config_maps = by_kind(documents, "ConfigMap")
    deployments = by_kind(documents, "Deployment")
    assert set(deployments) == set(SERVICES)
    for name, deployment in deployments.items():
        port = SERVICES[name].port
        pod = deployment["spec"]["template"]
        container = pod["spec"]["containers"][0]
        assert container["args"] == [name]
        assert container["ports"] == [{"name": "http", "containerPort": port, "protocol": "TCP"}]
        assert pod["metadata"]["annotations"]["prometheus.io/port"] == str(port)
        assert by_kind(documents, "Service")[name]["spec"]["ports"][0]["port"] == port
        policy = by_kind(documents, "NetworkPolicy")[name]
        assert policy["spec"]["ingress"][0]["ports"] == [{"protocol": "TCP", "port": port}]
        check_environment(f"k8s/{overlay}", name, environment(container, config_maps))


def environment(container: dict[str, Any], config_maps: dict[str, dict[str, Any]]) -> set[str]:
    names = {entry["name"] for entry in container.get("env", [])}
    for source in container.get("envFrom", []):
        reference = source["configMapRef"]["name"]
        assert reference in config_maps, f"envFrom names a ConfigMap not rendered: {reference}"
        names |= set(config_maps[reference]["data"])
    return names


def test_drift_check_catches_a_variable_no_settings_class_reads() -> None:
    with pytest.raises(AssertionError, match="REGISTRY_NO_SUCH_SETTING"):
        check_environment(
            "test",
            "registry",
            {
                "KAFKA_BOOTSTRAP_SERVERS",
                "MONGODB_URL",
                "IKM_JWT_SECRET",
                "REGISTRY_NO_SUCH_SETTING",
            },
        )
    with pytest.raises(AssertionError, match="MONGODB_URL"):
        check_environment("test", "notify", {"KAFKA_BOOTSTRAP_SERVERS", "IKM_JWT_SECRET"})


def test_generated_configuration_reference_and_topics_are_current() -> None:
    stale = [
        path
        for path, text in {
            GEN["OPERATIONS_DOC"]: GEN["rendered_operations_doc"](
                Path(GEN["OPERATIONS_DOC"]).read_text(encoding="utf-8")
            ),
            GEN["KAFKA_TOPICS"]: GEN["kafka_topics_yaml"](),
        }.items()
        if Path(path).read_text(encoding="utf-8") != text
    ]
    assert not stale, f"stale: {stale}; run python scripts/gen_config_reference.py"
