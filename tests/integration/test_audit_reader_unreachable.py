"""``LogReader.open`` with no broker to reach: it raises, and leaves no consumer open (its
aiokafka consumer was left unclosed: "Unclosed AIOKafkaConsumer" at the end of every ``ikm
audit`` run against a broker out of reach, a ResourceWarning and an error the event loop
logs)."""

from __future__ import annotations

import socket
import subprocess
import sys

PROGRAM = """
import asyncio, sys
from aiokafka.errors import KafkaConnectionError
from ikmkit.audit.reader import LogReader

async def main() -> None:
    try:
        await LogReader(sys.argv[1]).open()
    except KafkaConnectionError:
        print("refused")

asyncio.run(main())
"""


def unreachable() -> str:
    """A local address nothing listens on (the port was just free)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"127.0.0.1:{port}"


def test_no_consumer_is_left_open_when_the_broker_is_out_of_reach() -> None:
    # A process of its own: the warning comes when the consumer is finalized, at its exit.
    run = [sys.executable, "-X", "dev", "-c", PROGRAM, unreachable()]
    done = subprocess.run(run, capture_output=True, text=True, timeout=60, check=False)
    assert done.stdout.strip() == "refused", done.stderr[-2000:]
    assert "Unclosed" not in done.stderr, done.stderr[-2000:]
