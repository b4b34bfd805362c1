"""Every variable a deployment sets is read by the process it configures.

The settings classes are checked by test_drift.py; the rest (``IKM_LOG_LEVEL``, ``OTEL_*``) is
allowed by name there. Here each of those names must be read at run time: by the code
(``ikmkit``, ``services``), by the OpenTelemetry components it builds (``Resource``,
``BatchSpanProcessor``, ``OTLPSpanExporter``), or by the image's entrypoint for uvicorn.
``OTEL_METRICS_EXPORTER=none`` was set in both deployments, and the k8s ConfigMap said "set to
otlp to push metrics instead": nothing reads it (the services build no meter provider), so
setting it changed nothing.
"""

from __future__ import annotations

import importlib
import inspect
import runpy
from functools import cache

import pytest

from tests.deploy.manifests import OVERLAYS, ROOT, by_kind, load_compose, rendered
from tests.deploy.test_drift import environment

GEN = runpy.run_path(str(ROOT / "scripts" / "gen_config_reference.py"))
OTEL_MODULES = (
    "opentelemetry.sdk.resources",
    "opentelemetry.sdk.trace",
    "opentelemetry.sdk.trace.export",
    "opentelemetry.exporter.otlp.proto.http.trace_exporter",
    "opentelemetry.exporter.otlp.proto.http",
)
APIS = ("registry", "subsidy", "training", "notify", "insights")


@cache
def read_somewhere(name: str) -> bool:
    code = [
        p.read_text(encoding="utf-8")
        for d in ("ikmkit", "services")
        for p in (ROOT / d).rglob("*.py")
    ]
    sdk = [inspect.getsource(importlib.import_module(m)) for m in OTEL_MODULES]
    entrypoint = (ROOT / "deploy" / "docker" / "entrypoint.sh").read_text(encoding="utf-8")
    return (
        any(f'"{name}"' in text for text in code)
        or any(name in text for text in sdk)
        or f"${{{name}:-" in entrypoint  # the server's options: the image passes them to uvicorn
    )


def unread(names: set[str]) -> set[str]:
    settings = {n for s in GEN["services"]() for n in s.env_names()}
    return {
        n for n in names - settings if GEN["allowed_without_settings"](n) and not read_somewhere(n)
    }


def test_compose_sets_nothing_unread() -> None:
    services = load_compose()["services"]
    for name in APIS:
        assert unread(set(services[name]["environment"])) == set(), name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_kubernetes_sets_nothing_unread(overlay: str) -> None:
    documents = rendered(overlay)
    config_maps = by_kind(documents, "ConfigMap")
    for name, deployment in by_kind(documents, "Deployment").items():
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        assert unread(environment(container, config_maps)) == set(), name


def test_every_documented_standard_variable_is_read() -> None:
    assert {n for n in GEN["STANDARD_VARIABLES"] if not read_somewhere(n)} == set()


def test_the_check_catches_a_variable_nothing_reads() -> None:
    assert unread({"OTEL_EXPORTER_OTLP_ENDPONT", "OTEL_SERVICE_NAME"}) == {
        "OTEL_EXPORTER_OTLP_ENDPONT"
    }
