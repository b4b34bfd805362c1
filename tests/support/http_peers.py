"""HTTP peers that misbehave as webhook receivers can: a raw TCP server on 127.0.0.1 whose
answer is a script (headers dribbled a line at a time, a body too slow or too large to read),
and the sender that calls it through the real SSRF guard."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from ipaddress import ip_address
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from services.notify.domain import webhooks
from services.notify.domain.destinations import AllowList
from services.notify.senders import HttpWebhookSender, WebhookGuard

Script = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class ScriptedPeer:
    """Reads a request's head and answers with ``script``; counts the body bytes it wrote."""

    def __init__(self, script: Script, tls: ssl.SSLContext | None = None) -> None:
        self._script = script
        self._tls = tls
        self._server: asyncio.Server | None = None
        self.requests = 0
        self.written = 0

    async def __aenter__(self) -> ScriptedPeer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self._tls)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        self._server.close_clients()
        await self._server.wait_closed()

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/in?token=s3cret"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.requests += 1
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            await read_request(reader)
            await self._script(reader, writer)
        writer.close()

    async def body(self, writer: asyncio.StreamWriter, size: int, chunk: int = 65536) -> None:
        """``size`` bytes as fast as the client reads them (until it hangs up)."""
        while self.written < size:
            writer.write(b"x" * chunk)
            await writer.drain()
            self.written += chunk


async def read_request(reader: asyncio.StreamReader) -> dict[bytes, bytes]:
    """A request's head and body read; its headers, names in lower case."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")[1:]
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(b":") for line in lines)}
    await reader.readexactly(int(headers[b"content-length"]))
    return headers


async def dribble(writer: asyncio.StreamWriter, piece: bytes, every: float, until: float) -> None:
    """``piece`` every ``every`` seconds for ``until`` seconds: never a read timeout's pause."""
    deadline = time.monotonic() + until
    while time.monotonic() < deadline:
        writer.write(piece)
        await writer.drain()
        await asyncio.sleep(every)


@contextlib.asynccontextmanager
async def webhook_sender(
    timeout: float, names: dict[str, list[str]] | None = None
) -> AsyncIterator[HttpWebhookSender]:
    """The real sender and guard (127.0.0.1 allowed); ``names``: what each host resolves to."""
    table = names or {}

    async def resolve(host: str, port: int) -> list[str]:
        return table[host]

    allowed = AllowList.parse("127.0.0.1")
    guard = WebhookGuard(allowed, resolve) if names else WebhookGuard(allowed)
    sender = HttpWebhookSender(timeout, guard)
    try:
        yield sender
    finally:
        await sender.close()


def signed(url: str, body: bytes) -> dict[str, str]:
    subscription = webhooks.Subscription(
        id="s", url=url, event_types=["X"], secret="s" * 16, created_at=datetime.now(UTC)
    )
    return webhooks.signed_headers(subscription, body, str(int(time.time())), "n-1")


def certificate_for(directory: Path, name: str) -> tuple[Path, Path]:
    """A self-signed certificate for ``name``, a DNS name or an IP address such as
    ``127.0.0.1`` (trusted via ``SSL_CERT_FILE``)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([_alternative_name(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / f"{name}.pem", directory / f"{name}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def _alternative_name(name: str) -> x509.GeneralName:
    """An address is matched against the certificate's IP entries, never its DNS ones."""
    try:
        return x509.IPAddress(ip_address(name))
    except ValueError:
        return x509.DNSName(name)
