"""Compose's monitoring: Prometheus scrapes every service and the collector, an alert exists
for each failure mode of docs/operations.md with a runbook there, Grafana's provisioning
matches what compose mounts, and no alert or dashboard names a metric the code lacks."""

from __future__ import annotations

import importlib
import re
import runpy
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from tests.deploy.manifests import DEPLOY, ROOT, by_kind, load_compose, load_documents
from tests.deploy.observability import (
    EXTERNAL,
    GRAFANA,
    OPERATIONS_DOC,
    PROMETHEUS,
    RULE_FILES,
    alert_rules,
    dashboard_queries,
    defined_metrics,
    doc_anchors,
    load_dashboards,
    load_yaml,
    metric_names,
    selectors,
)

GEN = runpy.run_path(str(ROOT / "scripts" / "gen_config_reference.py"))
PORTS = {service.name: service.port for service in GEN["services"]()}
COMPOSE_DIR = DEPLOY / "compose"
DASHBOARD_GEN = runpy.run_path(str(GRAFANA / "gen_dashboards.py"))

# Each failure mode docs/operations.md names -> the alert that pages for it.
FAILURE_MODES = {
    "a service process dies / cannot start": "IkmServiceDown",
    "a service restarts again and again": "IkmServiceFlapping",
    "/readyz fails (store, broker, outbox, consumers)": "IkmServiceNotReady",
    "the broker is unreachable": "IkmBrokerUnreachable",
    "the log lost events and the relay republished": "IkmOutboxRepublished",
    "outbox backlog grows": "IkmOutboxBacklog",
    "the oldest pending outbox event is old": "IkmOutboxStale",
    "an event is parked": "IkmOutboxParked",
    "consumer lag grows": "IkmConsumerLagGrowing",
    "a consumer stalls": "IkmConsumerStalled",
    "processing attempts fail": "IkmEventsFailing",
    "a message is dead-lettered": "IkmEventsDeadLettered",
    "a forged event arrives": "IkmForgedEvent",
    "HTTP 5xx rate": "IkmHttpErrors",
}


def compose_services() -> dict[str, Any]:
    services: dict[str, Any] = load_compose()["services"]
    return services


def mounts(service: dict[str, Any]) -> dict[PurePosixPath, Path]:
    """Container path -> host path of a compose service's bind mounts."""
    found = {}
    for volume in service.get("volumes", []):
        source, target = volume.split(":")[:2]
        if source.startswith("."):
            found[PurePosixPath(target)] = (COMPOSE_DIR / source).resolve()
    return found


def host_path(service: dict[str, Any], container_path: str) -> Path:
    """Where a container path of a compose service comes from on the host."""
    wanted = PurePosixPath(container_path)
    for target, source in mounts(service).items():
        if wanted == target or target in wanted.parents:
            return source / wanted.relative_to(target)
    raise AssertionError(f"{container_path} is not mounted")


def scrape_jobs() -> dict[str, dict[str, Any]]:
    config = load_yaml(PROMETHEUS / "prometheus.yml")
    return {job["job_name"]: job for job in config["scrape_configs"]}


def targets(job: dict[str, Any]) -> set[str]:
    return {t for static in job["static_configs"] for t in static["targets"]}


# --- the stack ------------------------------------------------------------------------------


def test_compose_runs_prometheus_grafana_a_kafka_ui_and_jaeger_v2() -> None:
    services = compose_services()
    assert {"prometheus", "grafana", "kafka-ui", "jaeger", "blackbox"} <= services.keys()
    assert services["jaeger"]["image"].startswith("jaegertracing/jaeger:2.")
    assert not any("all-in-one" in s.get("image", "") for s in services.values())
    ui = services["kafka-ui"]
    assert ui["image"].startswith("ghcr.io/kafbat/kafka-ui:")
    assert ui["environment"]["KAFKA_CLUSTERS_0_BOOTSTRAPSERVERS"] == "kafka:9092"
    # Domain topics are the audit log: the UI browses them and deletes nothing.
    assert ui["environment"]["KAFKA_CLUSTERS_0_READONLY"] == "true"
    assert services["grafana"]["depends_on"]["prometheus"]["condition"] == "service_healthy"
    # No login of their own, event payloads on screen: reachable from the host only.
    for name in ("prometheus", "grafana", "kafka-ui"):
        assert all(p.startswith("127.0.0.1:") for p in services[name]["ports"]), name
    collector = load_yaml(COMPOSE_DIR / "otel-collector.yaml")
    assert collector["exporters"]["otlp_grpc/jaeger"]["endpoint"] == "jaeger:4317"


def test_prometheus_scrapes_every_service_the_collector_and_each_readyz() -> None:
    jobs = scrape_jobs()
    assert targets(jobs["ikm"]) == {f"{name}:{port}" for name, port in PORTS.items()}
    assert jobs["ikm"].get("metrics_path", "/metrics") == "/metrics"
    # The label dashboards and alerts select a service by.
    relabel = jobs["ikm"]["relabel_configs"][0]
    assert relabel["target_label"] == "ikm_service"
    assert re.fullmatch(relabel["regex"], "registry:8001")
    assert re.sub(relabel["regex"], relabel["replacement"].replace("$1", r"\1"), "a:1") == "a"
    collector = load_yaml(COMPOSE_DIR / "otel-collector.yaml")
    exported = collector["exporters"]["prometheus"]["endpoint"].rsplit(":", 1)[1]
    assert f"otel-collector:{exported}" in targets(jobs["otel-collector"])
    assert "8888" in str(collector["service"]["telemetry"]["metrics"])
    assert "otel-collector:8888" in targets(jobs["otel-collector"])
    # The services are scraped once, by Prometheus: a second scrape by the collector,
    # re-exported on :8889, would double every sum.
    assert "prometheus" not in collector["receivers"]
    # What :8889 carries: request rates and durations derived from the traces.
    pipelines = collector["service"]["pipelines"]
    assert "spanmetrics" in pipelines["traces"]["exporters"]
    assert "spanmetrics" in pipelines["metrics"]["receivers"]
    assert "prometheus" in pipelines["metrics"]["exporters"]
    probe = jobs["ikm-readyz"]
    assert targets(probe) == {f"http://{name}:{port}/readyz" for name, port in PORTS.items()}
    assert probe["metrics_path"] == "/probe"
    assert probe["relabel_configs"][-1]["replacement"] == "blackbox:9115"
    blackbox = load_yaml(PROMETHEUS / "blackbox.yml")
    module = blackbox["modules"][probe["params"]["module"][0]]
    assert module["http"]["valid_status_codes"] == [200]  # 503 "degraded" pages too


def test_prometheus_loads_the_rule_files_compose_mounts() -> None:
    prometheus = compose_services()["prometheus"]
    config_flag = next(a for a in prometheus["command"] if a.startswith("--config.file="))
    config_path = config_flag.split("=", 1)[1]
    assert host_path(prometheus, config_path) == PROMETHEUS / "prometheus.yml"
    config = load_yaml(PROMETHEUS / "prometheus.yml")
    loaded = set()
    for pattern in config["rule_files"]:
        directory = host_path(prometheus, str(PurePosixPath(pattern).parent))
        loaded |= set(directory.glob(PurePosixPath(pattern).name))
    assert loaded == set(RULE_FILES) and RULE_FILES
    blackbox = compose_services()["blackbox"]
    flag = next(a for a in blackbox["command"] if a.startswith("--config.file="))
    assert host_path(blackbox, flag.split("=", 1)[1]) == PROMETHEUS / "blackbox.yml"


# --- alerts ---------------------------------------------------------------------------------


def test_every_failure_mode_has_an_alert() -> None:
    names = [rule["alert"] for rule in alert_rules()]
    assert len(names) == len(set(names)), "alert names repeat"
    missing = {mode: alert for mode, alert in FAILURE_MODES.items() if alert not in names}
    assert not missing, missing
    assert set(names) == set(FAILURE_MODES.values()), "an alert without a failure mode here"


def test_alerts_parse_and_name_only_metrics_the_code_defines() -> None:
    known = defined_metrics() | EXTERNAL
    for path in RULE_FILES:
        for group in load_yaml(path)["groups"]:
            for rule in group["rules"]:
                unknown = metric_names(rule["expr"]) - known
                assert not unknown, f"{rule.get('alert')}: no such metric {sorted(unknown)}"


def test_every_alert_has_severity_summary_and_a_runbook_in_operations_md() -> None:
    anchors = doc_anchors(OPERATIONS_DOC)
    for rule in alert_rules():
        name = rule["alert"]
        assert rule["labels"]["severity"] in {"critical", "warning"}, name
        assert re.fullmatch(r"\d+[smh]", rule.get("for", "")), f"{name}: no for"
        annotations = rule["annotations"]
        assert annotations["summary"] and annotations["description"], name
        path, _, anchor = annotations["runbook_url"].partition("#")
        assert path.endswith("docs/operations.md"), name
        assert anchor == name.lower() and anchor in anchors, f"{name}: no section #{anchor}"


def test_operations_md_documents_exactly_the_alerts() -> None:
    text = OPERATIONS_DOC.read_text(encoding="utf-8")
    documented = set(re.findall(r"^#### (Ikm\w+)$", text, flags=re.MULTILINE))
    kafka = by_kind(
        load_documents(DEPLOY / "k8s" / "external" / "kafka-monitoring.yaml"), "PrometheusRule"
    )["ikm-kafka"]
    on_kubernetes = {r["alert"] for g in kafka["spec"]["groups"] for r in g["rules"]}
    assert documented == {rule["alert"] for rule in alert_rules()} | on_kubernetes


def table_rows(text: str, start: str, end: str) -> dict[str, str]:
    """First cell -> second cell of the Markdown table rows between two markers."""
    section = text[text.index(start) : text.index(end, text.index(start))]
    rows = [line.split(" | ") for line in section.splitlines() if line.startswith("| ")]
    assert rows, f"no table after {start!r}"
    # rows[0] is the header; the |---| line does not start with "| ".
    return {cells[0].removeprefix("| "): cells[1].rstrip(" |") for cells in rows[1:]}


def test_every_fault_in_operations_md_names_its_alerts() -> None:
    text = OPERATIONS_DOC.read_text(encoding="utf-8")
    faults = table_rows(text, "## Faults: what the operator sees and does", "## Scaling")
    mapped = table_rows(text, "<!-- fault alerts:", "\n\n")
    assert set(mapped) == set(faults), "a fault without its alerts row (or a stale row)"
    kafka = by_kind(
        load_documents(DEPLOY / "k8s" / "external" / "kafka-monitoring.yaml"), "PrometheusRule"
    )["ikm-kafka"]
    alerts = {rule["alert"] for rule in alert_rules()} | {
        r["alert"] for g in kafka["spec"]["groups"] for r in g["rules"]
    }
    named = set()
    for fault, cell in mapped.items():
        names = set(re.findall(r"\bIkm\w+", cell))
        assert names or cell.startswith("none ("), f"{fault}: no alert and no reason"
        assert names <= alerts, f"{fault}: no such alert {sorted(names - alerts)}"
        named |= names
    assert named == alerts, f"alerts for no documented fault: {sorted(alerts - named)}"


def test_metric_check_catches_typos_and_broken_expressions() -> None:
    assert "ikm_outbox_backlog" in defined_metrics()
    assert "ikm_events_dead_lettered_total" in defined_metrics()
    assert metric_names('rate(ikm_outbx_backlog{service="x"}[5m])') == {"ikm_outbx_backlog"}
    assert not metric_names("rate(ikm_outbx_backlog[5m])") <= defined_metrics()
    with pytest.raises(ValueError):
        selectors("sum(rate(ikm_outbox_backlog[5m])")


# --- dashboards -----------------------------------------------------------------------------


def consumer_groups() -> dict[str, set[str]]:
    acls = runpy.run_path(str(ROOT / "scripts" / "kafka_acls.py"))
    return {
        name: set(
            acls["subscriptions"](importlib.import_module(f"services.{name}.main").definition())
        )
        for name in PORTS
    }


def test_dashboards_are_current_with_their_generator() -> None:
    assert load_dashboards() == DASHBOARD_GEN["dashboards"](consumer_groups()), (
        "stale: run python deploy/grafana/gen_dashboards.py"
    )


def test_a_dashboard_per_service_and_one_for_the_event_flow() -> None:
    dashboards = load_dashboards()
    assert set(dashboards) == {f"ikm-{name}.json" for name in PORTS} | {"ikm-event-flow.json"}
    uids = [d["uid"] for d in dashboards.values()]
    assert len(set(uids)) == len(uids)
    groups = consumer_groups()
    for name in PORTS:
        queries = " ".join(dashboard_queries(dashboards[f"ikm-{name}.json"]))
        assert f'ikm_service="{name}"' in queries
        assert "http_server_request_duration_seconds_bucket" in queries
        assert 'http_response_status_code=~"5.."' in queries
        for group in groups[name]:
            assert f'group="{group}"' in queries, f"{name}: consumer {group} not shown"
    flow = " ".join(dashboard_queries(dashboards["ikm-event-flow.json"]))
    for metric in (
        "ikm_consumer_lag",
        "ikm_outbox_backlog",
        "ikm_outbox_oldest_pending_age_seconds",
        "ikm_events_dead_lettered_total",
        "ikm_outbox_parked",
    ):
        assert metric in flow, metric


def test_dashboard_queries_parse_and_name_only_metrics_the_code_defines() -> None:
    known = defined_metrics() | EXTERNAL
    datasources = load_yaml(GRAFANA / "provisioning" / "datasources" / "datasources.yml")
    uids = {source["uid"] for source in datasources["datasources"]}
    for file, dashboard in load_dashboards().items():
        for expr in dashboard_queries(dashboard):
            unknown = metric_names(expr) - known
            assert not unknown, f"{file}: no such metric {sorted(unknown)} in {expr}"
        for panel in dashboard["panels"]:
            if "datasource" in panel:
                assert panel["datasource"]["uid"] in uids, f"{file}: {panel['title']}"


def test_grafana_provisioning_matches_what_compose_mounts() -> None:
    grafana = compose_services()["grafana"]
    provisioning = grafana["environment"].get("GF_PATHS_PROVISIONING", "/etc/grafana/provisioning")
    assert host_path(grafana, provisioning) == GRAFANA / "provisioning"
    providers = load_yaml(GRAFANA / "provisioning" / "dashboards" / "dashboards.yml")
    [provider] = providers["providers"]
    assert host_path(grafana, provider["options"]["path"]) == GRAFANA / "dashboards"
    datasources = load_yaml(GRAFANA / "provisioning" / "datasources" / "datasources.yml")
    urls = {source["type"]: source["url"] for source in datasources["datasources"]}
    services = compose_services()
    for kind, url in urls.items():
        host = re.fullmatch(r"http://([\w-]+):\d+", url)[1]  # type: ignore[index]
        assert host in services, f"{kind} datasource points at no compose service"
        assert kind in {"prometheus", "jaeger"}
    assert urls["prometheus"] == "http://prometheus:9090"
    assert urls["jaeger"] == "http://jaeger:16686"
