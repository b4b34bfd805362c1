"""What compose publishes beyond the host: only the services' APIs, which check a bearer token.

Kafka (no SASL here), MongoDB (no authentication), Mailpit (every caught e-mail, personal data
included, and an SMTP port anyone could send through), the collector's OTLP receivers and
Jaeger have no login of their own: published on every interface, anyone on the host's network
could read the enterprises' records and events, write to the store or the topics, or feed
traces. They are bound to 127.0.0.1 like Prometheus, Grafana and the Kafka UI.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.deploy.manifests import load_compose

APIS = ("registry", "subsidy", "training", "notify", "insights")
SHORT = re.compile(r"^(?:(?P<ip>\[[^\]]+\]|[\d.]+):)?(?P<host>[\d-]+):(?P<container>[\d-]+)")


def published(service: dict[str, Any]) -> list[tuple[str, str]]:
    """(host address, host port) of each published port; '' when bound to every interface."""
    found = []
    for port in service.get("ports", []):
        if isinstance(port, dict):
            found.append((port.get("host_ip", ""), str(port.get("published", ""))))
            continue
        match = SHORT.match(str(port))
        if match is None:  # "8080": a random host port on every interface
            found.append(("", ""))
            continue
        found.append((match["ip"] or "", match["host"]))
    return found


LOOPBACK = ("127.0.0.1", "[::1]")


def open_to_the_network(services: dict[str, Any]) -> dict[str, list[str]]:
    found = {
        name: [port for ip, port in published(service) if ip not in LOOPBACK]
        for name, service in services.items()
        if name not in APIS
    }
    return {name: ports for name, ports in found.items() if ports}


def test_only_the_apis_are_published_beyond_the_host() -> None:
    services = load_compose()["services"]
    assert open_to_the_network(services) == {}
    for name in APIS:
        assert services[name]["ports"], name  # the APIs stay reachable


@pytest.mark.parametrize(
    ("ports", "open_"),
    [
        (["27017:27017"], ["27017"]),
        ([{"target": 27017, "published": 27017}], ["27017"]),
        (["0.0.0.0:29092:29092"], ["29092"]),
        (["8080"], [""]),
        (["127.0.0.1:27017:27017", {"target": 1, "published": 1, "host_ip": "127.0.0.1"}], []),
    ],
)
def test_the_check_reads_every_port_syntax(ports: list[Any], open_: list[str]) -> None:
    found = open_to_the_network({"mongodb": {"ports": ports}})
    assert found == ({"mongodb": open_} if open_ else {})
