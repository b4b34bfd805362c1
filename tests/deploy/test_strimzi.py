"""The Strimzi example runs Kafka Exporter (lag per consumer group and topic, seen from the
brokers) for every topic and group the services use, and Prometheus Operator scrapes it;
rendered with ``kubectl kustomize`` and checked against the operators' CRD schemas."""

from __future__ import annotations

import importlib
import re
import runpy

from contracts.catalog import all_topics
from contracts.topics import dead_letter_topic
from tests.deploy.manifests import K8S, ROOT, by_kind, k8s_errors, load_documents, render
from tests.deploy.observability import OPERATIONS_DOC, doc_anchors, metric_names

EXTERNAL = K8S / "external"
ACLS = runpy.run_path(str(ROOT / "scripts" / "kafka_acls.py"))
# Kafka Exporter's series (github.com/danielqsj/kafka_exporter), which the rules may name.
EXPORTER_METRICS = {
    "kafka_consumergroup_lag",
    "kafka_consumergroup_lag_sum",
    "kafka_topic_partition_under_replicated_partition",
    "kafka_brokers",
}


def groups() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for service in ACLS["SERVICES"]:
        module = importlib.import_module(f"services.{service}.main")
        found |= ACLS["subscriptions"](module.definition())
    return found


def test_the_external_kustomization_renders_kafka_and_its_monitoring() -> None:
    documents = render(EXTERNAL)
    assert {d["kind"] for d in documents} >= {
        "Kafka",
        "KafkaNodePool",
        "PodMonitor",
        "PrometheusRule",
    }
    for document in documents:
        assert document["metadata"]["namespace"] == "kafka"
        assert k8s_errors(document) == [], f"{document['kind']}/{document['metadata']['name']}"


def test_kafka_exporter_watches_every_topic_and_group_the_services_use() -> None:
    kafka = by_kind(render(EXTERNAL), "Kafka")["ikm"]
    exporter = kafka["spec"]["kafkaExporter"]
    consumed = groups()
    topics = set(all_topics()) | {dead_letter_topic(t, g) for g, ts in consumed.items() for t in ts}
    for topic in topics:
        assert re.fullmatch(exporter["topicRegex"], topic), topic
    for group in consumed:
        assert re.fullmatch(exporter["groupRegex"], group), group
    assert not re.fullmatch(exporter["groupRegex"], "console-consumer-1")
    assert {"cpu", "memory"} <= exporter["resources"]["limits"].keys()


def test_every_topic_a_service_writes_is_made_with_copies_for_the_clusters_writes() -> None:
    """The dead-letter topics were left to the services, which created them with one copy:
    under the cluster's ``min.insync.replicas: 2`` such a topic takes no write, so the first
    dead letter failed (a retriable error: redelivered, failing again) and stopped its
    partition for good. Each is a KafkaTopic as the domain topics are, keeping every record."""
    kafka = by_kind(render(EXTERNAL), "Kafka")["ikm"]
    in_sync = int(kafka["spec"]["kafka"]["config"]["min.insync.replicas"])
    made = {
        t["spec"]["topicName"]: t["spec"] for t in load_documents(EXTERNAL / "kafka-topics.yaml")
    }
    consumed = groups()
    written = set(all_topics()) | {
        dead_letter_topic(t, g) for g, ts in consumed.items() for t in ts
    }
    assert written - set(made) == set()
    for topic in written:
        assert made[topic]["replicas"] > in_sync, topic  # one broker may be down
        assert made[topic]["config"]["retention.ms"] == "-1", topic


def test_prometheus_operator_scrapes_the_exporter_pods() -> None:
    documents = render(EXTERNAL)
    monitor = by_kind(documents, "PodMonitor")["ikm-kafka-exporter"]
    # The labels Strimzi puts on the Kafka Exporter pods of Kafka `ikm`.
    assert monitor["spec"]["selector"]["matchLabels"] == {
        "strimzi.io/cluster": "ikm",
        "strimzi.io/kind": "Kafka",
        "strimzi.io/name": "ikm-kafka-exporter",
    }
    [endpoint] = monitor["spec"]["podMetricsEndpoints"]
    assert endpoint["port"] == "tcp-prometheus" and endpoint["path"] == "/metrics"


def test_kafka_alerts_name_exporter_metrics_and_have_runbooks() -> None:
    rule = by_kind(render(EXTERNAL), "PrometheusRule")["ikm-kafka"]
    alerts = [r for g in rule["spec"]["groups"] for r in g["rules"] if "alert" in r]
    assert {a["alert"] for a in alerts} == {"IkmKafkaGroupLag", "IkmKafkaUnderReplicated"}
    anchors = doc_anchors(OPERATIONS_DOC)
    for alert in alerts:
        assert metric_names(alert["expr"]) <= EXPORTER_METRICS, alert["alert"]
        assert alert["labels"]["severity"] in {"critical", "warning"}
        anchor = alert["annotations"]["runbook_url"].partition("#")[2]
        assert anchor == alert["alert"].lower() and anchor in anchors, alert["alert"]


def test_crd_schema_check_rejects_a_misspelt_exporter_setting() -> None:
    kafka = by_kind(render(EXTERNAL), "Kafka")["ikm"]
    kafka["spec"]["kafkaExporter"]["groupRegexp"] = ".*"
    errors = k8s_errors(kafka)
    assert any("groupRegexp" in e for e in errors), errors
