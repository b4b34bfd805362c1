"""Deployments run in production mode with their secrets, and Kafka lets each service write
only its own topics: the KafkaUser ACLs are checked against the contract catalog and the
services' consumers, so they cannot drift."""

from __future__ import annotations

import base64
import copy
import importlib
import json
import re
import runpy
from typing import Any

import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from contracts.catalog import EVENTS_BY_TYPE, all_topics
from contracts.topics import dead_letter_topic
from ikmkit.service.settings import DEV_JWT_SECRET
from services.insights.settings import InsightsSettings
from services.notify.settings import NotifySettings
from services.registry.settings import RegistrySettings
from services.subsidy.settings import SubsidySettings
from services.training.settings import TrainingSettings
from tests.deploy.manifests import (
    COMPOSE_FILE,
    K8S,
    OVERLAYS,
    ROOT,
    by_kind,
    load_documents,
    rendered,
)

ACLS = runpy.run_path(str(ROOT / "scripts" / "kafka_acls.py"))
SECRETS = runpy.run_path(str(ROOT / "scripts" / "gen_secrets.py"))
USERS_FILE = K8S / "external" / "kafka-users.yaml"
SERVICES = ("registry", "subsidy", "training", "notify", "insights")
SETTINGS = {
    "registry": RegistrySettings,
    "subsidy": SubsidySettings,
    "training": TrainingSettings,
    "notify": NotifySettings,
    "insights": InsightsSettings,
}


def owners() -> dict[str, str]:
    """Topic -> owning service, from where the contracts declare its events."""
    return {m.TOPIC: m.__module__.rsplit(".", 1)[-1] for m in EVENTS_BY_TYPE.values()}


def grants(user: dict[str, Any]) -> dict[str, set[tuple[str, str]]]:
    """Operation -> {(resource type, name)} of one KafkaUser."""
    found: dict[str, set[tuple[str, str]]] = {}
    for acl in user["spec"]["authorization"]["acls"]:
        resource = acl["resource"]
        key = (
            resource["type"],
            resource["name"] + ("*" if resource["patternType"] != "literal" else ""),
        )
        for operation in acl["operations"]:
            found.setdefault(operation, set()).add(key)
    return found


def acl_violations(users: dict[str, dict[str, Any]]) -> list[str]:
    problems = []
    topic_owner = owners()
    writers: dict[str, list[str]] = {}
    for service in SERVICES:
        user = users.get(f"ikm-{service}")
        if user is None:
            problems.append(f"no KafkaUser ikm-{service}")
            continue
        granted = grants(user)
        groups = ACLS["subscriptions"](
            importlib.import_module(f"services.{service}.main").definition()
        )
        written = {name for kind, name in granted.get("Write", set()) if kind == "topic"}
        for topic in written:
            writers.setdefault(topic, []).append(service)
        own = {t for t, owner in topic_owner.items() if owner == service}
        dead_letters = {dead_letter_topic(t, g) for g, topics in groups.items() for t in topics}
        if written != own | dead_letters:
            problems.append(
                f"ikm-{service} writes {sorted(written ^ (own | dead_letters))} wrongly"
            )
        read = {name for kind, name in granted.get("Read", set()) if kind == "topic"}
        if read != {t for topics in groups.values() for t in topics}:
            problems.append(f"ikm-{service} reads {sorted(read)}, its consumers another set")
        if {name for kind, name in granted.get("Read", set()) if kind == "group"} != set(groups):
            problems.append(f"ikm-{service} may join groups other than its own {sorted(groups)}")
    audit = grants(users.get(ACLS["AUDIT_USER"], {"spec": {"authorization": {"acls": []}}}))
    if {"Write", "Create", "Alter", "Delete", "All"} & audit.keys():
        problems.append("ikm-audit may change the log")
    problems += [f"{t} has writers {w}" for t, w in writers.items() if len(w) > 1]
    problems += [f"{t} has no writer" for t in all_topics() if t not in writers]
    return problems


def kafka_users() -> dict[str, dict[str, Any]]:
    return {
        u["metadata"]["name"]: u for u in load_documents(USERS_FILE) if u["kind"] == "KafkaUser"
    }


def test_kafka_users_file_is_generated_from_the_code() -> None:
    assert USERS_FILE.read_text(encoding="utf-8") == ACLS["kafka_users_yaml"](), (
        "stale: run python scripts/gen_config_reference.py"
    )


def test_each_service_writes_only_its_own_topics_and_reads_what_it_consumes() -> None:
    assert acl_violations(kafka_users()) == []


def test_the_acl_check_catches_a_grant_on_another_services_topic() -> None:
    users = copy.deepcopy(kafka_users())
    users["ikm-notify"]["spec"]["authorization"]["acls"].append(
        {
            "resource": {
                "type": "topic",
                "name": "ikm.registry.enterprise.v1",
                "patternType": "literal",
            },
            "operations": ["Write"],
        }
    )
    del users["ikm-training"]["spec"]["authorization"]["acls"][0]
    problems = acl_violations(users)
    assert any("ikm-notify writes" in p for p in problems), problems
    assert any("ikm.registry.enterprise.v1 has writers" in p for p in problems), problems
    assert any("ikm-training writes" in p for p in problems), problems


def test_strimzi_kafka_authenticates_and_authorizes() -> None:
    kafka = next(
        d for d in load_documents(K8S / "external" / "strimzi-kafka.yaml") if d["kind"] == "Kafka"
    )
    listeners = kafka["spec"]["kafka"]["listeners"]
    assert all(listener["authentication"]["type"] == "scram-sha-512" for listener in listeners)
    assert kafka["spec"]["kafka"]["authorization"]["type"] == "simple"
    assert kafka["spec"]["entityOperator"]["userOperator"]["watchedNamespace"] == "ikm"


def test_image_defaults_to_production() -> None:
    assert re.search(r"^\s+IKM_ENV=production \\$", (ROOT / "Dockerfile").read_text(), re.M)


def test_compose_runs_production_with_required_secrets_and_no_dev_default() -> None:
    text = COMPOSE_FILE.read_text(encoding="utf-8")
    assert DEV_JWT_SECRET not in text and "dev-only" not in text
    services = yaml.safe_load(text)["services"]
    for name in SERVICES:
        env = services[name]["environment"]
        assert env["IKM_ENV"] == "production"
        for variable in (
            "IKM_JWT_SECRET",
            "IKM_EVENT_PUBLIC_KEYS",
            f"{name.upper()}_EVENT_SIGNING_KEY",
        ):
            assert env[variable].startswith(f"${{{variable}:?"), f"{name}: {variable} not required"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_kubernetes_wires_signing_keys_and_kafka_users(overlay: str) -> None:
    documents = rendered(overlay)
    config = by_kind(documents, "ConfigMap")["ikm-config"]["data"]
    assert config["IKM_ENV"] == {"prod": "production", "dev": "development"}[overlay]
    assert config["KAFKA_SECURITY_PROTOCOL"].startswith("SASL_")
    users = kafka_users()
    for name, deployment in by_kind(documents, "Deployment").items():
        env = {e["name"]: e for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
        signing = env[f"{name.upper()}_EVENT_SIGNING_KEY"]["valueFrom"]["secretKeyRef"]
        assert signing == {"name": "ikm-event-keys", "key": f"{name}-signing-key"}
        assert env["IKM_EVENT_PUBLIC_KEYS"]["valueFrom"]["secretKeyRef"]["name"] == "ikm-event-keys"
        user = env["KAFKA_SASL_USERNAME"]["value"]
        assert user == f"ikm-{name}" and user in users
        assert env["KAFKA_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
            "name": user,
            "key": "password",
        }
    base = load_documents(K8S / "base" / "config.yaml")
    assert (
        next(d for d in base if d["metadata"]["name"] == "ikm-config")["data"]["IKM_ENV"]
        == "production"
    )


def test_generated_compose_secrets_satisfy_production() -> None:
    lines = SECRETS["compose_env"]().splitlines()
    values = dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))
    public = json.loads(values["IKM_EVENT_PUBLIC_KEYS"].strip("'"))
    for name, settings_class in SETTINGS.items():
        own = {
            k.removeprefix(f"{name.upper()}_").lower(): v
            for k, v in values.items()
            if k.startswith(f"{name.upper()}_")
        }
        settings = settings_class(
            env="production", jwt_secret=values["IKM_JWT_SECRET"], event_public_keys=public, **own
        )
        assert settings.key_problems() + settings.production_problems() == [], name
        assert settings.missing_producer_keys(set(SERVICES)) == []
        signing = Ed25519PrivateKey.from_private_bytes(base64.b64decode(own["event_signing_key"]))
        assert base64.b64encode(signing.public_key().public_bytes_raw()).decode() == public[name]
