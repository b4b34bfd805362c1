"""A small Kustomize renderer for the subset deploy/k8s uses (no kustomize binary here).

Supported kustomization fields: ``resources`` (files and directories with their own
kustomization), ``namespace``, ``labels`` (``pairs`` added to ``metadata.labels``),
``images`` (``name`` -> ``newName``/``newTag``) and ``patches`` (strategic-merge patch
files matched by kind and name; lists of objects with a ``name`` are merged by name,
other lists replaced, as Kubernetes does for containers, env and ports).
Any other field raises ``Unsupported``, so a manifest never silently renders
differently here than with ``kubectl apply -k``.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

SUPPORTED = {"apiVersion", "kind", "resources", "namespace", "labels", "images", "patches"}
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "StorageClass"}

Resource = dict[str, Any]


class Unsupported(Exception):
    """The kustomization uses a feature this renderer does not implement."""


def load_documents(path: Path) -> list[Resource]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


def render(directory: Path) -> list[Resource]:
    """The resources ``kubectl kustomize directory`` would print, in order."""
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text(encoding="utf-8"))
    unknown = set(kustomization) - SUPPORTED
    if unknown:
        raise Unsupported(f"{directory}: kustomization fields {sorted(unknown)}")
    resources: list[Resource] = []
    for entry in kustomization.get("resources", []):
        target = (directory / entry).resolve()
        resources += render(target) if target.is_dir() else load_documents(target)
    for patch_entry in kustomization.get("patches", []):
        if set(patch_entry) != {"path"}:
            raise Unsupported(f"{directory}: only file patches are supported: {patch_entry}")
        for patch in load_documents(directory / patch_entry["path"]):
            _apply_patch(resources, patch, directory)
    for label_set in kustomization.get("labels", []):
        if set(label_set) - {"pairs"}:
            raise Unsupported(f"{directory}: labels options {sorted(label_set)}")
        for resource in resources:
            resource.setdefault("metadata", {}).setdefault("labels", {}).update(label_set["pairs"])
    for image in kustomization.get("images", []):
        _set_image(resources, image)
    namespace = kustomization.get("namespace")
    if namespace:
        for resource in resources:
            if resource["kind"] not in CLUSTER_SCOPED:
                resource.setdefault("metadata", {})["namespace"] = namespace
    return resources


def strategic_merge(base: Any, patch: Any) -> Any:
    if isinstance(base, dict) and isinstance(patch, dict):
        merged = dict(base)
        for key, value in patch.items():
            merged[key] = strategic_merge(base[key], value) if key in base else copy.deepcopy(value)
        return merged
    if isinstance(base, list) and isinstance(patch, list) and _named(base) and _named(patch):
        merged_list = [copy.deepcopy(item) for item in base]
        index = {item["name"]: i for i, item in enumerate(merged_list)}
        for item in patch:
            if item["name"] in index:
                position = index[item["name"]]
                merged_list[position] = strategic_merge(merged_list[position], item)
            else:
                merged_list.append(copy.deepcopy(item))
        return merged_list
    return copy.deepcopy(patch)


def _named(items: list[Any]) -> bool:
    return bool(items) and all(isinstance(item, dict) and "name" in item for item in items)


def _apply_patch(resources: list[Resource], patch: Resource, directory: Path) -> None:
    for i, resource in enumerate(resources):
        if (
            resource["kind"] == patch["kind"]
            and resource["metadata"]["name"] == (patch["metadata"]["name"])
        ):
            resources[i] = strategic_merge(resource, patch)
            return
    raise Unsupported(
        f"{directory}: patch targets {patch['kind']}/{patch['metadata']['name']}, not rendered"
    )


def _set_image(resources: list[Resource], image: dict[str, str]) -> None:
    for resource in resources:
        pod = resource.get("spec", {}).get("template", {}).get("spec", {})
        for container in pod.get("containers", []) + pod.get("initContainers", []):
            name = container["image"].split(":")[0]
            if name == image["name"]:
                new_name = image.get("newName", name)
                container["image"] = (
                    f"{new_name}:{image['newTag']}" if "newTag" in image else new_name
                )
