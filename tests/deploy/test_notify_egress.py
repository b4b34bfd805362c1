"""notify's network policy lets out what its settings and API send: mail to the configured SMTP
port, and webhooks to the default port of every scheme the subscription API accepts (a
``HttpUrl``: http and https). An http webhook the API accepted (201) but the policy dropped
would time out on every attempt and die after NOTIFY_MAX_ATTEMPTS, with no hint why."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from services.notify.commands import Subscribe
from tests.deploy.manifests import OVERLAYS, by_kind, rendered

DEFAULT_PORTS = {"http": 80, "https": 443}


def egress_ports(
    policies: dict[str, dict[str, Any]], pod_labels: dict[str, str], *, anywhere: bool
) -> set[int]:
    """TCP ports the pod may reach: on any address (``anywhere``), or at some destination."""
    ports: set[int] = set()
    for policy in policies.values():
        selector = policy["spec"]["podSelector"].get("matchLabels", {})
        if not selector.items() <= pod_labels.items():
            continue
        for rule in policy["spec"].get("egress", []):
            peers = rule.get("to", [])
            open_ = not peers or any(p.get("ipBlock", {}).get("cidr") == "0.0.0.0/0" for p in peers)
            if anywhere and not open_:
                continue
            ports |= {p["port"] for p in rule.get("ports", []) if p.get("protocol") == "TCP"}
    return ports


def accepted_schemes() -> set[str]:
    field = Subscribe.model_fields["url"]
    adapter: TypeAdapter[Any] = TypeAdapter(field.annotation)
    found = set()
    for scheme in ("http", "https", "ftp", "ws"):
        try:
            adapter.validate_python(f"{scheme}://hooks.example.com/ikm")
        except ValidationError:
            continue
        found.add(scheme)
    return found


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_notify_may_reach_its_smtp_port_and_every_webhook_scheme(overlay: str) -> None:
    documents = rendered(overlay)
    notify = by_kind(documents, "Deployment")["notify"]
    labels = notify["spec"]["template"]["metadata"]["labels"]
    policies = by_kind(documents, "NetworkPolicy")
    allowed = egress_ports(policies, labels, anywhere=True)
    smtp = int(by_kind(documents, "ConfigMap")["ikm-notify-config"]["data"]["NOTIFY_SMTP_PORT"])
    assert smtp in egress_ports(policies, labels, anywhere=False), f"SMTP port {smtp}"
    schemes = accepted_schemes()
    assert schemes == {"http", "https"}
    for scheme in schemes:
        port = DEFAULT_PORTS[scheme]
        assert port in allowed, f"{scheme} webhooks accepted by the API, port {port} not allowed"
