"""A stopping replica is given the time its code takes to stop, and is out of its Service before
it stops listening.

The budget is read from the code: uvicorn's graceful HTTP drain (the entrypoint's
``--timeout-graceful-shutdown``), then the lifespan's bounded stop steps
(``ikmkit.service.lifespan.STOP_BUDGET_SECONDS``: consumers, relay, publisher, store). A grace
period shorter than that is a SIGKILL in the middle of a relay pass or an offset commit.

On Kubernetes the kubelet sends SIGTERM while the endpoint controller, kube-proxy and the ingress
are still removing the pod: uvicorn closes its listening socket at once, so connections sent in
that window are refused (502 at the ingress; a POST is not retried). A preStop pause keeps the
replica serving until the removal has spread.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from ikmkit.service.lifespan import STOP_BUDGET_SECONDS
from tests.deploy.manifests import DEPLOY, OVERLAYS, by_kind, load_compose, rendered

APIS = ("registry", "subsidy", "training", "notify", "insights")
ENDPOINT_PROPAGATION_SECONDS = 5  # kube-proxy and ingress-nginx pick up a removal within this


def http_drain_seconds() -> float:
    text = (DEPLOY / "docker" / "entrypoint.sh").read_text(encoding="utf-8")
    [seconds] = re.findall(r"--timeout-graceful-shutdown (\d+)", text)
    return float(seconds)


def compose_seconds(value: str) -> float:
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", value)
    assert parts and "".join(n + u for n, u in parts) == value, value
    return sum(float(n) * units[u] for n, u in parts)


def pre_stop_pause(container: dict[str, Any]) -> float:
    """Seconds the preStop hook keeps the container serving (0: none)."""
    hook = container.get("lifecycle", {}).get("preStop", {})
    if "sleep" in hook:
        return float(hook["sleep"]["seconds"])
    command = hook.get("exec", {}).get("command", [])
    if len(command) == 2 and command[0] in ("sleep", "/bin/sleep"):
        return float(command[1])
    return 0.0


def test_the_stop_budget_is_what_the_code_bounds() -> None:
    assert http_drain_seconds() == 20
    assert STOP_BUDGET_SECONDS == 40


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_kubernetes_waits_for_the_endpoints_then_gives_the_code_its_time(overlay: str) -> None:
    for name, deployment in by_kind(rendered(overlay), "Deployment").items():
        pod = deployment["spec"]["template"]["spec"]
        pause = pre_stop_pause(pod["containers"][0])
        assert pause >= ENDPOINT_PROPAGATION_SECONDS, f"{name}: no preStop pause"
        needed = pause + http_drain_seconds() + STOP_BUDGET_SECONDS
        grace = pod["terminationGracePeriodSeconds"]
        assert grace >= needed, f"{name}: grace {grace}s < {needed:g}s the stop may take"


def test_compose_gives_the_code_its_time() -> None:
    services = load_compose()["services"]
    for name in APIS:
        grace = compose_seconds(services[name]["stop_grace_period"])
        assert grace >= http_drain_seconds() + STOP_BUDGET_SECONDS, name


@pytest.mark.parametrize(
    ("container", "seconds"),
    [
        ({}, 0.0),
        ({"lifecycle": {"preStop": {"sleep": {"seconds": 5}}}}, 5.0),
        ({"lifecycle": {"preStop": {"exec": {"command": ["sleep", "7"]}}}}, 7.0),
        ({"lifecycle": {"preStop": {"exec": {"command": ["sh", "-c", "true"]}}}}, 0.0),
    ],
)
def test_the_pause_is_read_from_either_hook(container: dict[str, Any], seconds: float) -> None:
    assert pre_stop_pause(container) == seconds


def test_compose_durations_parse() -> None:
    assert compose_seconds("1m5s") == 65
    assert compose_seconds("30s") == 30
    with pytest.raises(AssertionError):
        compose_seconds("30")


# The first start of a release that rewrites stored data at open: on MongoDB session 22's
# release scans every document of each collection with stored times, once per field
# (ikmkit/store/mongo_migrations.py; notify: 4.8 million notifications x 3 fields at the
# campaign's size, the 1.6 M scale run), and the service answers /healthz only when the open is
# done. A startup probe that gives up first restarts the pod into the same scan (the field in
# hand starts again): a crash loop through the upgrade, on every replica at once.
FIRST_OPEN_SECONDS = 600


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_startup_probe_waits_for_a_first_open_after_an_upgrade(overlay: str) -> None:
    for name, deployment in by_kind(rendered(overlay), "Deployment").items():
        probe = deployment["spec"]["template"]["spec"]["containers"][0]["startupProbe"]
        budget = probe.get("periodSeconds", 10) * probe.get("failureThreshold", 3)
        assert budget >= FIRST_OPEN_SECONDS, f"{name}: startup probe gives up after {budget}s"


def test_compose_counts_no_failed_health_check_during_a_first_open() -> None:
    """A container is healthy at its first passing check; failures inside start_period do not
    count, so `make up --wait` does not fail an upgrade whose first open takes minutes."""
    services = load_compose()["services"]
    for name in APIS:
        start = compose_seconds(services[name]["healthcheck"]["start_period"])
        assert start >= FIRST_OPEN_SECONDS, name
