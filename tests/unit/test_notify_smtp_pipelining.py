"""SMTP PIPELINING (RFC 2920) against real SMTP servers (aiosmtpd over a socket): MAIL, RCPT
and DATA go in one write when the server advertises it, one by one when it does not; a
refused sender or recipient still fails that one e-mail, and the pool goes on sending.

A small TCP relay between the mailer and the server records what the client wrote in each
segment: on localhost a small write arrives whole, so "MAIL, RCPT and DATA in one segment"
is what pipelining looks like on the wire (without it the client waits for each reply)."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from aiosmtplib import SMTPRecipientRefused, SMTPSenderRefused

from ikm_cli.devextras import SmtpSink
from ikmdev.infra import free_port
from services.notify.senders import SmtpMailer
from services.notify.settings import NotifySettings
from services.notify.smtp_pipeline import Pipelined
from tests.support.http_peers import certificate_for
from tests.support.smtp_wire import REFUSED, Pipelining, Refusing, Wire, mailer, send


async def _served(handler: Refusing) -> AsyncIterator[tuple[Refusing, Wire]]:
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), ready_timeout=10)
    controller.start()
    wire = await Wire(controller.port).start()
    try:
        yield handler, wire
    finally:
        await wire.stop()
        controller.stop()


@pytest.fixture
async def pipelining() -> AsyncIterator[tuple[Refusing, Wire]]:
    async for served in _served(Pipelining()):
        yield served


@pytest.fixture
async def one_by_one() -> AsyncIterator[tuple[Refusing, Wire]]:
    async for served in _served(Refusing()):
        yield served


async def test_mail_rcpt_and_data_go_in_one_write_when_the_server_offers_pipelining(
    pipelining: tuple[Refusing, Wire],
) -> None:
    handler, wire = pipelining
    smtp = mailer(wire.port)
    await asyncio.gather(*(send(smtp, f"owner{n}@example.id", n) for n in range(10)))
    await smtp.close()
    assert wire.pipelined() == 10
    assert sorted(rcpts[0] for rcpts, _ in handler.kept) == sorted(
        f"owner{n}@example.id" for n in range(10)
    )
    # the body arrives intact: a leading dot is stuffed on the wire and unstuffed by the server
    assert all(b"\r\n.line" in content or b"\n.line" in content for _, content in handler.kept)


async def test_without_pipelining_each_command_waits_for_its_reply(
    one_by_one: tuple[Refusing, Wire],
) -> None:
    handler, wire = one_by_one
    smtp = mailer(wire.port)
    await asyncio.gather(*(send(smtp, f"owner{n}@example.id", n) for n in range(4)))
    await smtp.close()
    assert wire.pipelined() == 0
    assert len(handler.kept) == 4


@pytest.fixture(params=[Pipelining, Refusing], ids=["pipelining", "one_by_one"])
async def either(request: pytest.FixtureRequest) -> AsyncIterator[tuple[Refusing, Wire]]:
    async for served in _served(request.param()):
        yield served


async def test_a_refused_recipient_fails_that_mail_only(either: tuple[Refusing, Wire]) -> None:
    handler, wire = either
    smtp = mailer(wire.port)
    targets = [REFUSED if n % 3 == 0 else f"owner{n}@example.id" for n in range(12)]
    results = await asyncio.gather(
        *(send(smtp, to, n) for n, to in enumerate(targets)), return_exceptions=True
    )
    await smtp.close()
    refused = [n for n, r in enumerate(results) if isinstance(r, SMTPRecipientRefused)]
    assert refused == [0, 3, 6, 9]
    assert [r for r in results if r is not None and not isinstance(r, SMTPRecipientRefused)] == []
    assert sorted(r[0] for r, _ in handler.kept) == sorted(t for t in targets if t != REFUSED)


async def test_a_refused_sender_raises_and_sends_nothing(
    pipelining: tuple[Refusing, Wire],
) -> None:
    handler, wire = pipelining
    smtp = SmtpMailer(NotifySettings(smtp_host="127.0.0.1", smtp_port=wire.port, smtp_from=REFUSED))
    with pytest.raises(SMTPSenderRefused):
        await send(smtp, "owner@example.id", 1)
    await smtp.close()
    assert handler.kept == []


async def test_the_dev_sink_advertises_pipelining_and_keeps_every_mail() -> None:
    sink = SmtpSink().start()
    wire = await Wire(sink.port).start()
    try:
        smtp = mailer(wire.port)
        await asyncio.gather(*(send(smtp, f"owner{n}@example.id", n) for n in range(5)))
        await smtp.close()
    finally:
        await wire.stop()
        sink.stop()
    assert wire.pipelined() == 5
    assert sorted(m["To"] for m in sink.received()) == [f"owner{n}@example.id" for n in range(5)]


class Secure(Pipelining):
    """Pipelining, and records whether each message came over TLS after AUTH."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        assert session.ssl is not None and session.authenticated
        return await super().handle_DATA(server, session, envelope)


def _authenticate(server: Any, session: Any, envelope: Any, mechanism: str, auth: Any) -> Any:
    ok = auth.login == b"notify" and auth.password == b"s3cret"
    return AuthResult(success=ok)


async def test_pipelining_after_starttls_and_auth(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, key = certificate_for(tmp_path, "127.0.0.1")
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    pipelined: list[str] = []
    envelope = Pipelined.envelope

    def counted(self: Pipelined, sender: str, to: str, message: bytes) -> bytes:
        pipelined.append(to)
        return envelope(self, sender, to, message)

    monkeypatch.setattr(Pipelined, "envelope", counted)
    handler = Secure()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=free_port(),
        tls_context=context,
        require_starttls=True,
        authenticator=_authenticate,
        auth_required=True,
        ready_timeout=10,
    )
    controller.start()
    try:
        settings = NotifySettings(
            smtp_host="127.0.0.1",
            smtp_port=controller.port,
            smtp_security="starttls",
            smtp_username="notify",
            smtp_password="s3cret",  # type: ignore[arg-type]
            smtp_connections=2,
        )
        smtp = SmtpMailer(settings)
        targets = [REFUSED if n == 2 else f"owner{n}@example.id" for n in range(6)]
        results = await asyncio.gather(
            *(send(smtp, to, n) for n, to in enumerate(targets)), return_exceptions=True
        )
        await smtp.close()
    finally:
        controller.stop()
    assert [type(r).__name__ for r in results] == ["NoneType"] * 2 + ["SMTPRecipientRefused"] + [
        "NoneType"
    ] * 3
    assert sorted(r[0] for r, _ in handler.kept) == sorted(t for t in targets if t != REFUSED)
    assert sorted(pipelined) == sorted(targets)  # every one over the pipelined path
