"""Loading, rendering and schema-validating the deployment manifests, offline.

Overlays are rendered by ``kubectl kustomize`` (Kustomize v5.5, the renderer ``kubectl apply
-k`` uses); the compose file is checked by ``check-jsonschema`` against its builtin Compose
Specification schema; Kubernetes objects against the vendored Kubernetes 1.33 schemas.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator, ValidationError
from referencing import Registry, Resource

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE_FILE = DEPLOY / "compose" / "compose.yaml"
K8S = DEPLOY / "k8s"
OVERLAYS = ("dev", "prod")
SCHEMAS = Path(__file__).resolve().parent / "schemas"
K8S_SCHEMAS = SCHEMAS / "kubernetes" / "v1.33.0-local-strict"
CRD_SCHEMAS = SCHEMAS / "crds"


CRD_GROUPS = ("kafka.strimzi.io", "monitoring.coreos.com")


class NoSchema(Exception):
    """No vendored schema for this kind (see tests/deploy/schemas/README.md)."""


class RenderError(Exception):
    """``kubectl kustomize`` refused to render a directory."""


def load_documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


def load_compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    return data


def compose_errors(document: dict[str, Any]) -> list[str]:
    """Errors ``check-jsonschema --builtin-schema vendor.compose-spec`` reports (offline)."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "compose.json"
        path.write_text(json.dumps(document), encoding="utf-8")
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "check_jsonschema",
                "--builtin-schema",
                "vendor.compose-spec",
                "--output-format",
                "json",
                str(path),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        raise AssertionError(f"check-jsonschema failed: {result.stderr}") from None
    if report["status"] == "ok" and result.returncode == 0:
        return []
    assert not report.get("parse_errors"), report["parse_errors"]
    problems = [f"{_json_path(e['path'])}: {e['message'][:300]}" for e in report.get("errors", [])]
    assert problems, f"check-jsonschema failed without errors: {result.stderr}"
    return problems


def _json_path(path: str) -> str:
    return path.removeprefix("$").removeprefix(".") or "(root)"


@cache
def _k8s_registry() -> Registry:
    definitions = json.loads((K8S_SCHEMAS / "_definitions.json").read_text(encoding="utf-8"))
    return Resource.from_contents(definitions) @ Registry()  # type: ignore[return-value]


def k8s_schema_file(document: dict[str, Any]) -> Path:
    group, _, version = document["apiVersion"].rpartition("/")
    if group in CRD_GROUPS:
        # Operator resources (Strimzi, Prometheus Operator): the CRD catalog's naming.
        path = CRD_SCHEMAS / group / f"{document['kind'].lower()}_{version}.json"
        if path.exists():
            return path
    # Same naming as kubernetes-validate: rbac.authorization.k8s.io/v1 -> rbac-v1.
    api_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", document["apiVersion"])
    path = K8S_SCHEMAS / f"{document['kind'].lower()}-{api_version}.json"
    if not path.exists():
        raise NoSchema(
            f"{document['apiVersion']} {document['kind']}: no vendored schema {path.name}"
        )
    return path


def k8s_errors(document: dict[str, Any]) -> list[str]:
    schema = json.loads(k8s_schema_file(document).read_text(encoding="utf-8"))
    validator = Draft202012Validator(schema, registry=_k8s_registry())
    return [_describe(e) for e in validator.iter_errors(document)]


def _describe(error: ValidationError) -> str:
    where = ".".join(str(p) for p in error.absolute_path) or "(root)"
    return f"{where}: {error.message[:300]}"


def k8s_resource_files() -> list[Path]:
    """Every manifest a kustomization lists as a resource (patch files are partial)."""
    files: list[Path] = []
    for kustomization in sorted(K8S.rglob("kustomization.yaml")):
        listed = yaml.safe_load(kustomization.read_text(encoding="utf-8")).get("resources", [])
        files += [
            (kustomization.parent / entry).resolve()
            for entry in listed
            if (kustomization.parent / entry).resolve().is_file()
        ]
    return files


def render(directory: Path) -> list[dict[str, Any]]:
    """The resources ``kubectl kustomize directory`` prints, in its order."""
    return [doc for doc in yaml.safe_load_all(_kustomize(directory.resolve())) if doc]


@cache
def _kustomize(directory: Path) -> str:
    try:
        result = subprocess.run(
            ["kubectl", "kustomize", str(directory)],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
    except FileNotFoundError:
        raise RenderError("kubectl is not installed (Kustomize v5.5 or later is needed)") from None
    if result.returncode != 0:
        raise RenderError(f"kubectl kustomize {directory}: {result.stderr.strip()}")
    return result.stdout


def rendered(overlay: str) -> list[dict[str, Any]]:
    return render(K8S / "overlays" / overlay)


def by_kind(documents: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in documents if d["kind"] == kind}
