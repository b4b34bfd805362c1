"""Loading and schema-validating the deployment manifests, offline (vendored schemas)."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator, ValidationError
from referencing import Registry, Resource

from tests.deploy import kustomize

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE_FILE = DEPLOY / "compose" / "compose.yaml"
K8S = DEPLOY / "k8s"
OVERLAYS = ("dev", "prod")
SCHEMAS = Path(__file__).resolve().parent / "schemas"
K8S_SCHEMAS = SCHEMAS / "kubernetes" / "v1.33.0-local-strict"


class NoSchema(Exception):
    """No vendored schema for this kind (see tests/deploy/schemas/README.md)."""


def load_compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    return data


def compose_errors(document: dict[str, Any]) -> list[str]:
    schema = json.loads((SCHEMAS / "compose-spec.json").read_text(encoding="utf-8"))
    validator = Draft202012Validator(schema)
    return [_describe(e) for e in validator.iter_errors(document)]


@cache
def _k8s_registry() -> Registry:
    definitions = json.loads((K8S_SCHEMAS / "_definitions.json").read_text(encoding="utf-8"))
    return Resource.from_contents(definitions) @ Registry()  # type: ignore[return-value]


def k8s_schema_file(document: dict[str, Any]) -> Path:
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


def rendered(overlay: str) -> list[dict[str, Any]]:
    return kustomize.render(K8S / "overlays" / overlay)


def by_kind(documents: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in documents if d["kind"] == kind}
