"""The embedded broker's log disappears mid-load (`kill -9` of Tansu, or `ikm dev down` then
`ikm dev up` in the same folder). The stores survive; the in-memory log does not. The
outboxes are the durable record: every acknowledged registration must be back on its topic
and applied downstream exactly once. While the broker hangs every /readyz is 503 naming
it, and 200 again once it is back; after the restart the operator's audit (`ikm audit
replay`, `ikm audit rebuild`) finds nothing missing and no difference.

These depend on the outbox relay noticing that the broker lost its log and publishing again
(branch ``relay``): without it they fail with ``lost > 0``, which is the bug they prove.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from contracts.registry import ENTERPRISE_TOPIC
from tests.chaos.conftest import FaultReport
from tests.chaos.harness import DevStack, Load, check, register, settle, when
from tests.chaos.probes import CONSUMER_GROUPS, broker_named_unready, readiness_until, ready
from tests.support.values import random_nib

REGISTRATIONS = 300


async def test_broker_hung_then_killed_mid_load_is_told_by_readyz_and_loses_nothing(
    stack: DevStack, fault_report: FaultReport
) -> None:
    before = stack.state()
    services = before["pids"]
    load = Load()
    nibs = [random_nib() for _ in range(REGISTRATIONS)]
    running = asyncio.create_task(register(lambda: before["services"]["registry"], nibs, load))
    await when(lambda: len(load.acknowledged) >= REGISTRATIONS // 3)
    # hung first (SIGSTOP: the supervisor sees a live process), held until every /readyz
    # says so; then killed, and the supervisor restarts it
    hung, at = stack.kill("broker", signal.SIGSTOP), time.monotonic()
    outage = await readiness_until(before["services"], broker_named_unready, timeout=30)
    killed = stack.kill("broker")
    assert killed == hung
    entry = await stack.restarted("broker", killed)
    await readiness_until(before["services"], ready, timeout=60)
    await running
    assert all(body["checks"]["broker"] != "ok" for _, body in outage.values())
    after = stack.status()
    assert entry["restarts"] == before["supervision"]["broker"]["restarts"] + 1
    assert after["kafka"] == before["kafka"], "services reconnect to the bootstrap they know"
    assert after["pids"] == services, "a broker crash takes no service down"
    assert load.acknowledged_after(at) > 0, "the load went on across the broker's restart"
    check(
        await settle(stack, load, timeout=90), fault_report, "broker hung, then kill -9, mid-load"
    )


async def test_down_then_up_in_the_same_folder_loses_nothing(
    stack: DevStack, fault_report: FaultReport
) -> None:
    urls = dict(stack.state()["services"])
    load = Load()
    nibs = [random_nib() for _ in range(REGISTRATIONS)]
    during, after = nibs[: 2 * REGISTRATIONS // 3], nibs[2 * REGISTRATIONS // 3 :]

    def sent(part: list[str]) -> asyncio.Task[Load]:
        # the client keeps retrying while the stack is down, against wherever the registry is
        return asyncio.create_task(
            register(lambda: urls["registry"], part, load, rate=25, retry_for=120)
        )

    running = sent(during)
    await when(lambda: len(load.acknowledged) >= REGISTRATIONS // 3)
    await asyncio.to_thread(stack.down)
    # the last third is sent once the stack is down (`down` serves the requests in flight, and
    # on a loaded machine it outlasted the paced load): it reaches only the new `up`
    at, rest = time.monotonic(), sent(after)
    urls.update((await asyncio.to_thread(stack.up))["services"])
    await running
    await rest
    assert load.acknowledged_after(at) > 0, "the load went on after the new `up`"
    outcome = await settle(stack, load, timeout=90)
    check(outcome, fault_report, "ikm dev down, then up")
    audited(stack, len(outcome.acknowledged))


def audited(stack: DevStack, acknowledged: int) -> None:
    """What an operator runs after the restart: `ikm audit replay` (against the dev stack's
    services, its default) finds nothing missing from the log, and `ikm audit rebuild` of
    each consumer finds its state equal to what the log makes of it."""
    data = {"IKM_DATA_DIR": str(stack.root / "data"), "IKM_ENV": "development"}
    runs: dict[str, tuple[list[str], dict[str, str]]] = {
        "replay": (["audit", "replay", "--report", str(stack.root / "replay.json")], {}),
        **{
            service: (["audit", "rebuild", service, "--report", report(stack, service)], data)
            for service in CONSUMER_GROUPS
        },
    }
    # they only read (the log, the stores) and mostly wait on the broker: run together
    with ThreadPoolExecutor(len(runs)) as pool:
        started = {name: pool.submit(stack.ikm, *args, **env) for name, (args, env) in runs.items()}
        done = {name: future.result() for name, future in started.items()}
    for name, finished in done.items():
        assert finished.returncode == 0, (name, finished.stdout + finished.stderr)
    document = json.loads((stack.root / "replay.json").read_text())
    registry = document["outbox"]["by_topic"][ENTERPRISE_TOPIC]
    assert document["outbox"]["missing"] == 0, document["outbox"]
    assert registry["missing"] == 0 and registry["on_log"] >= acknowledged, registry
    assert "missing" not in document["findings_by_kind"], document["findings_by_kind"]
    for service in CONSUMER_GROUPS:
        differences = json.loads(Path(report(stack, service)).read_text())
        assert differences["differences"] == [] and differences["stream_differences"] == []
        assert differences["events_replayed"] >= acknowledged, (service, differences)


def report(stack: DevStack, service: str) -> str:
    return str(stack.root / f"rebuild-{service}.json")
