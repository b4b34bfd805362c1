"""Local stand-ins for ``ikm dev up``: an SMTP sink that keeps every mail notify sends.

The sink (aiosmtpd) runs on its own thread and event loop. Each message is kept in
memory (``SmtpSink.received()``, for tests and benchmarks) and, when a directory is
given, written to it as ``<n>.eml``. Numbering continues after the mail already in the
directory (an earlier ``up``), and a file is never overwritten.
"""

from __future__ import annotations

import itertools
import logging
import threading
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from ikmdev.infra import free_port


class Pipelining:
    """An aiosmtpd handler that offers PIPELINING, as the relays notify sends to do."""

    async def handle_EHLO(  # noqa: N802
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        # aiosmtpd reads pipelined commands in order off its stream and answers DATA 503 when
        # no recipient was accepted (RFC 2920's rules), but does not say so; Postfix does.
        session.host_name = hostname
        return [*responses[:-1], "250-PIPELINING", responses[-1]]


class _Keeper(Pipelining):
    def __init__(self, sink: SmtpSink) -> None:
        self._sink = sink

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self._sink.keep(envelope.rcpt_tos, envelope.content)
        return "250 Message accepted for delivery"


class SmtpSink:
    """A real SMTP server on 127.0.0.1 that accepts and stores every message."""

    def __init__(self, port: int | None = None, directory: Path | None = None) -> None:
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.directory = directory
        self._raw: list[bytes] = []
        self._lock = threading.Lock()
        self._numbers = itertools.count(_next_number(directory))
        self._controller: Controller | None = None

    def keep(self, recipients: list[str], content: bytes) -> None:
        with self._lock:
            self._raw.append(content)
            number = next(self._numbers)
        if self.directory is not None:
            self._write(number, content)

    def _write(self, number: int, content: bytes) -> None:
        assert self.directory is not None
        self.directory.mkdir(parents=True, exist_ok=True)
        while True:
            try:  # exclusive create: another sink on the same folder cannot clobber it either
                with (self.directory / f"{number:07d}.eml").open("xb") as file:
                    file.write(content)
                return
            except FileExistsError:
                with self._lock:
                    number = next(self._numbers)

    def start(self) -> SmtpSink:
        # aiosmtpd logs every envelope address at INFO: personal data stays out of logs.
        logging.getLogger("mail.log").setLevel(logging.WARNING)
        self._controller = Controller(
            _Keeper(self), hostname=self.host, port=self.port, ready_timeout=10
        )
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def count(self) -> int:
        return len(self._raw)

    def received(self) -> list[EmailMessage]:
        """Every message so far, parsed (headers unfolded)."""
        with self._lock:
            raw = list(self._raw)
        return [_parse(content) for content in raw]

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.received() if m["To"] == address]


def _next_number(directory: Path | None) -> int:
    """One past the highest ``<n>.eml`` already in ``directory`` (1 when there is none)."""
    if directory is None or not directory.is_dir():
        return 1
    numbers = [int(f.stem) for f in directory.glob("*.eml") if f.stem.isdigit()]
    return max(numbers, default=0) + 1


def start_dev_extras(state_dir: Path) -> tuple[dict[str, str], dict[str, Any], list[SmtpSink]]:
    """Start the SMTP sink; returns notify's env, what ``ikm dev status`` shows, and handles."""
    inbox = state_dir / "smtp"
    sink = SmtpSink(directory=inbox).start()
    env = {"NOTIFY_SMTP_HOST": sink.host, "NOTIFY_SMTP_PORT": str(sink.port)}
    state = {"smtp": f"{sink.host}:{sink.port}", "smtp_inbox": str(inbox.resolve())}
    return env, state, [sink]


def _parse(content: bytes) -> EmailMessage:
    message = message_from_bytes(content, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def main() -> None:
    """``python -m ikm_cli.devextras PORT COUNT_FILE``: a sink in its own process (benchmarks),
    writing how many messages it has received to COUNT_FILE every 20 ms."""
    import sys
    import time

    port, count_file = int(sys.argv[1]), Path(sys.argv[2])
    sink = SmtpSink(port=port).start()
    try:
        while True:
            count_file.write_text(str(sink.count))
            time.sleep(0.02)
    finally:
        sink.stop()


if __name__ == "__main__":
    main()
