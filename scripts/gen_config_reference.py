"""Generate the deployment facts that derive from code, so docs and manifests cannot drift.

- The configuration reference in ``docs/operations.md`` (between the
  ``BEGIN/END GENERATED: config-reference`` markers), from each service's settings class.
- ``deploy/k8s/external/kafka-topics.yaml``: one Strimzi ``KafkaTopic`` per contract topic.
- ``deploy/k8s/external/kafka-users.yaml``: one Strimzi ``KafkaUser`` per service with the
  ACLs derived from its topics and consumers (``scripts/kafka_acls.py``).

Run ``python scripts/gen_config_reference.py`` after changing a settings class or a
contract topic; ``--check`` exits 1 if anything is stale (``tests/deploy`` runs it).
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from pydantic.fields import FieldInfo

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from contracts.catalog import all_topics  # noqa: E402
from ikmkit.messaging.kafka_topics import AUDIT_LOG_CONFIG, COPIES  # noqa: E402
from ikmkit.service.settings import ServiceSettings  # noqa: E402
from scripts.kafka_acls import dead_letter_topics, kafka_users_yaml  # noqa: E402

OPERATIONS_DOC = ROOT / "docs" / "operations.md"
KAFKA_TOPICS = ROOT / "deploy" / "k8s" / "external" / "kafka-topics.yaml"
KAFKA_USERS = ROOT / "deploy" / "k8s" / "external" / "kafka-users.yaml"
BEGIN = "<!-- BEGIN GENERATED: config-reference (scripts/gen_config_reference.py) -->"
END = "<!-- END GENERATED: config-reference -->"

# Read outside the settings classes (ikmkit.telemetry.otel, the OpenTelemetry SDK): allowed in
# manifests although no settings class declares them.
STANDARD_VARIABLES: dict[str, str] = {
    "IKM_LOG_LEVEL": "Log level of the JSON logs (DEBUG, INFO, WARNING, ERROR). Default INFO.",
    "OTEL_SERVICE_NAME": "Service name on traces. Default ikm-<service>.",
    "OTEL_EXPORTER_OTLP_ENDPOINT": "OTLP/HTTP endpoint of a collector; set: traces are exported.",
    "OTEL_TRACES_EXPORTER": "otlp, console or none. Default otlp iff an endpoint is set.",
    "OTEL_EXPORTER_OTLP_HEADERS": "Headers for the OTLP exporter (e.g. an API key).",
    "OTEL_RESOURCE_ATTRIBUTES": "Extra resource attributes, e.g. deployment.environment=prod.",
    "UVICORN_TIMEOUT_KEEP_ALIVE": "Seconds an idle HTTP connection stays open. Default 75: "
    "longer than the ingress or load balancer in front keeps one (ingress-nginx, AWS: 60 s), "
    "so it never sends on a connection being closed; above 600 behind Google Cloud's.",
}
STANDARD_PREFIXES = ("OTEL_",)
# Not read by the settings classes but required in every deployment: the defaults are for
# a developer's laptop (local broker, SQLite, a published JWT secret). IKM_ENV defaults to
# production, but a deployment says so explicitly.
DEPLOYMENT_REQUIRED = ("KAFKA_BOOTSTRAP_SERVERS", "MONGODB_URL", "IKM_JWT_SECRET", "IKM_ENV")


@dataclass(frozen=True)
class EnvVar:
    name: str
    field: str
    type: str
    default: str
    required: bool
    shared: bool
    description: str


@dataclass(frozen=True)
class ServiceConfig:
    name: str
    settings: type[ServiceSettings]

    @property
    def port(self) -> int:
        return int(self.settings.model_fields["port"].default)

    @property
    def prefix(self) -> str:
        return str(self.settings.model_config.get("env_prefix", ""))

    def env(self) -> list[EnvVar]:
        return [
            _env_var(self.settings, name, info) for name, info in self.settings.model_fields.items()
        ]

    def env_names(self) -> set[str]:
        return {var.name for var in self.env()}


def services() -> list[ServiceConfig]:
    """Every service under services/ with a settings class, in port order."""
    found: list[ServiceConfig] = []
    for settings_file in sorted((ROOT / "services").glob("*/settings.py")):
        module = importlib.import_module(f"services.{settings_file.parent.name}.settings")
        classes = [
            obj
            for _, obj in inspect.getmembers(module, inspect.isclass)
            if issubclass(obj, ServiceSettings)
            and obj is not ServiceSettings
            and obj.__module__ == module.__name__
        ]
        if len(classes) == 1:
            found.append(ServiceConfig(settings_file.parent.name, classes[0]))
    return sorted(found, key=lambda s: s.port)


def allowed_without_settings(name: str) -> bool:
    return name in STANDARD_VARIABLES or name.startswith(STANDARD_PREFIXES)


def _env_var(cls: type[ServiceSettings], field: str, info: FieldInfo) -> EnvVar:
    alias = info.validation_alias
    shared = isinstance(alias, str)
    name = alias if isinstance(alias, str) else f"{cls.model_config.get('env_prefix', '')}{field}"
    return EnvVar(
        name=name.upper(),
        field=field,
        type=_type_name(info.annotation),
        default="" if info.is_required() else _default(info.get_default(call_default_factory=True)),
        required=info.is_required(),
        shared=shared,
        description=(info.description or "").replace("|", "\\|"),
    )


def _type_name(annotation: Any) -> str:
    text = getattr(annotation, "__name__", None) or str(annotation)
    text = (
        text.replace("typing.", "")
        .replace("pydantic.types.", "")
        .replace("pathlib.", "")
        .replace("_local.", "")
    )
    return text.replace(" | None", " (optional)")


def _default(value: Any) -> str:
    if value is None:
        return "unset"
    if isinstance(value, SecretStr):
        return "dev value (change it)"
    return f"`{value}`"


def config_reference() -> str:
    all_services = services()
    lines = [
        BEGIN,
        "",
        "Generated from the settings classes (`services/<name>/settings.py`, base "
        "`ikmkit/settings.py`); regenerate with `python scripts/gen_config_reference.py`.",
        "Variables are case-insensitive; unknown variables are ignored.",
        "",
        "### Shared by every service (unprefixed)",
        "",
        "| variable | type | default | description |",
        "|---|---|---|---|",
    ]
    shared = {v.name: v for s in all_services for v in s.env() if v.shared}
    for var in sorted(shared.values(), key=lambda v: v.name):
        required = " **Required in deployments.**" if var.name in DEPLOYMENT_REQUIRED else ""
        lines.append(f"| `{var.name}` | {var.type} | {var.default} | {var.description}{required} |")
    lines += ["", "### Telemetry (read by `ikmkit.telemetry.otel` and the OpenTelemetry SDK)", ""]
    lines += ["| variable | description |", "|---|---|"]
    lines += [f"| `{name}` | {text} |" for name, text in STANDARD_VARIABLES.items()]
    for service in all_services:
        lines += [
            "",
            f"### {service.name} (prefix `{service.prefix}`, port {service.port})",
            "",
            "| variable | type | default | description |",
            "|---|---|---|---|",
        ]
        for var in service.env():
            if var.shared:
                continue
            default = "**required**" if var.required else var.default
            lines.append(f"| `{var.name}` | {var.type} | {default} | {var.description} |")
    lines += ["", END]
    return "\n".join(lines)


def kafka_topics_yaml() -> str:
    header = (
        "# GENERATED by scripts/gen_config_reference.py from contracts/catalog.py and the\n"
        "# services' consumer groups (scripts/kafka_acls.py): do not edit.\n"
        "# One Strimzi KafkaTopic per versioned domain topic and per dead-letter topic. Domain\n"
        "# topics are the audit log (auditors replay them) and dead letters the record of the\n"
        "# events a consumer did not apply, so they keep everything\n"
        "# (ikmkit/messaging/kafka_topics.py AUDIT_LOG_CONFIG), on 3 brokers: with fewer copies\n"
        "# than the cluster's min.insync.replicas a topic takes no write.\n"
        "# 12 partitions: at most 12 consumer replicas per group (docs/operations.md#scaling).\n"
    )
    config = "".join(f'    {key}: "{value}"\n' for key, value in AUDIT_LOG_CONFIG.items())
    docs = []
    for topic in [*all_topics(), *dead_letter_topics()]:
        docs.append(
            "apiVersion: kafka.strimzi.io/v1beta2\n"
            "kind: KafkaTopic\n"
            "metadata:\n"
            f"  name: {topic.replace('.', '-')}\n"
            "  namespace: kafka\n"
            "  labels:\n"
            "    strimzi.io/cluster: ikm\n"
            "spec:\n"
            f"  topicName: {topic}\n"
            "  partitions: 12\n"
            f"  replicas: {COPIES}\n"
            "  config:\n"
            f"{config}"
            '    min.insync.replicas: "2"\n'
        )
    return header + "---\n".join(docs)


def rendered_operations_doc(current: str) -> str:
    start, end = current.find(BEGIN), current.find(END)
    if start < 0 or end < 0:
        raise SystemExit(f"{OPERATIONS_DOC} lacks the generated-section markers")
    return current[:start] + config_reference() + current[end + len(END) :]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a generated file is stale")
    args = parser.parse_args()
    wanted = {
        OPERATIONS_DOC: rendered_operations_doc(OPERATIONS_DOC.read_text(encoding="utf-8")),
        KAFKA_TOPICS: kafka_topics_yaml(),
        KAFKA_USERS: kafka_users_yaml(),
    }
    stale = [
        path
        for path, text in wanted.items()
        if not path.exists() or path.read_text(encoding="utf-8") != text
    ]
    if args.check:
        for path in stale:
            print(f"stale: {path.relative_to(ROOT)} (run python scripts/gen_config_reference.py)")
        return 1 if stale else 0
    for path in stale:
        path.write_text(wanted[path], encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
