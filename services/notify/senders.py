"""Adapters that actually send: SMTP (aiosmtplib, pooled connections) and HTTP webhooks."""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import ssl
import time
from collections.abc import Awaitable, Callable
from email.header import Header
from email.quoprimime import body_encode
from email.utils import formatdate, parseaddr
from typing import Protocol

import aiosmtplib
import httpx
from aiosmtplib import (
    SMTPRecipientRefused,
    SMTPResponseException,
    SMTPSenderRefused,
    SMTPStatus,
)

from ikmkit.service.errors import InvalidInput
from services.notify.domain import destinations
from services.notify.domain.destinations import AllowList, literal_address, refusal
from services.notify.domain.webhooks import mask_url
from services.notify.settings import NotifySettings
from services.notify.smtp_pipeline import Link, Links, Pipelined


class EmailSender(Protocol):
    async def send(self, *, to: str, subject: str, body: str, message_id: str) -> None: ...

    async def close(self) -> None: ...


class WebhookSender(Protocol):
    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> None:
        """Raise unless the receiver answered 2xx."""
        ...

    async def close(self) -> None: ...


class SmtpMailer:
    """Sends plain-text mail over a small pool of reused SMTP connections.

    A connection that fails is closed and replaced on next use, so an SMTP server
    that was down is picked up again without a restart. When the server advertises
    PIPELINING, an e-mail takes one write and one round trip (``smtp_pipeline``).
    """

    def __init__(self, settings: NotifySettings) -> None:
        self._settings = settings
        self._envelope_from = parseaddr(settings.smtp_from)[1]
        self._links = Links(self._open, settings.smtp_connections)

    def _client(self) -> aiosmtplib.SMTP:
        s = self._settings
        return aiosmtplib.SMTP(
            hostname=s.smtp_host,
            port=s.smtp_port,
            use_tls=s.smtp_security == "tls",
            start_tls=s.smtp_security == "starttls",
            username=s.smtp_username,
            password=s.smtp_password.get_secret_value() if s.smtp_password else None,
            timeout=s.smtp_timeout,
        )

    async def _open(self) -> Link:
        """Connected, TLS and AUTH as configured, past EHLO."""
        client = self._client()
        await client.connect()
        if client.is_ehlo_or_helo_needed:
            await client.ehlo()
        if client.supports_extension("pipelining") and client.transport is not None:
            size = client.supports_extension("size")
            return Pipelined(client.transport, size=size, timeout=self._settings.smtp_timeout)
        return _OneByOne(client)

    async def send(self, *, to: str, subject: str, body: str, message_id: str) -> None:
        message = compose(
            sender=self._settings.smtp_from, to=to, subject=subject, body=body, ref=message_id
        )
        await self.send_composed(to, message)

    async def send_composed(self, to: str, message: bytes) -> None:
        """A message ``compose`` made (the bench's bare client sends these)."""
        await self._links.send(self._envelope_from, to, message)

    async def close(self) -> None:
        await self._links.close()


class _OneByOne:
    """A server without PIPELINING: one command, one reply (aiosmtplib)."""

    def __init__(self, client: aiosmtplib.SMTP) -> None:
        self._client = client

    @property
    def is_connected(self) -> bool:
        return self._client.is_connected

    async def send(self, sender: str, to: str, message: bytes) -> None:
        await _transaction(self._client, sender, to, message)

    async def quit(self) -> None:
        await self._client.quit()

    def close(self) -> None:
        self._client.close()


async def _transaction(client: aiosmtplib.SMTP, sender: str, to: str, message: bytes) -> None:
    """One mail transaction (MAIL, RCPT, DATA), as ``sendmail`` does it for one recipient but
    without its address parsing (``email.utils.parseaddr`` twice per address: more CPU than
    the rest of the send). ``compose`` has already refused any address that would need
    quoting; a refusal resets the envelope so the connection can be reused."""
    if client.is_ehlo_or_helo_needed:
        await client.ehlo()
    size = f" SIZE={len(message)}" if client.supports_extension("size") else ""
    try:
        reply = await client.execute_command(b"MAIL", f"FROM:<{sender}>{size}".encode())
        if reply.code != SMTPStatus.completed:
            raise SMTPSenderRefused(reply.code, reply.message, sender)
        reply = await client.execute_command(b"RCPT", f"TO:<{to}>".encode())
        if reply.code not in (SMTPStatus.completed, SMTPStatus.will_forward):
            raise SMTPRecipientRefused(reply.code, reply.message, to)
        await client.data(message)
    except SMTPResponseException:
        with contextlib.suppress(ConnectionError, SMTPResponseException):
            await client.rset()
        raise


def compose(*, sender: str, to: str, subject: str, body: str, ref: str) -> bytes:
    """A plain-text UTF-8 message (quoted-printable), built directly: the stdlib's
    ``EmailMessage`` header machinery costs milliseconds per message."""
    if _NOT_PLAIN.search(to) or "@" not in to:
        raise UndeliverableAddress("not a single plain e-mail address")
    if not to.isascii():
        # Without SMTPUTF8 (which the ministry's relays are not assumed to offer) such an
        # address can never be sent: retrying would only delay the dead letter.
        raise UndeliverableAddress("address is not ASCII (SMTPUTF8 not used)")
    headers = [
        f"From: {sender}",
        f"To: {to}",
        f"Subject: {_subject(subject)}",
        f"Date: {_date()}",
        # Stable per notification: a receiver can drop the copy a crash-and-resend produces.
        f"Message-ID: <{_local_part(ref)}@notify.ikm>",
        f"X-IKM-Notification-Id: {ref}",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: quoted-printable",
    ]
    text = body.replace("\r\n", "\n")
    if not text.isascii():
        # Quoted-printable encodes octets: the UTF-8 bytes, one character per byte (what
        # ``email.charset`` does), not the code points (which would be Latin-1, or fail).
        text = text.encode("utf-8").decode("latin-1")
    text = body_encode(text, maxlinelen=76, eol="\r\n")
    return ("\r\n".join(headers) + "\r\n\r\n" + text + "\r\n").encode("ascii")


_NOT_PLAIN = re.compile("[\r\n<>,;]")


def _subject(subject: str) -> str:
    """One line; RFC 2047 encoded words when not ASCII, folded with CRLF (a bare LF inside
    a header is refused by strict relays) within 78 characters with the header's name."""
    one_line = " ".join(subject.split())
    if one_line.isascii():
        return one_line
    return Header(one_line, "utf-8", header_name="Subject").encode(linesep="\r\n")


_last_date: list[tuple[int, str]] = [(0, "")]


def _date() -> str:
    """``formatdate(usegmt=True)`` (whole seconds), formatted once per second."""
    now = int(time.time())
    second, text = _last_date[0]
    if second != now:
        text = formatdate(now, usegmt=True)
        _last_date[0] = (now, text)
    return text


# What is not alphanumeric (``str.isalnum``, as ``\w`` without ``_``), ``-`` or ``.``.
_NOT_LOCAL = re.compile(r"[^\w.-]|_")


def _local_part(notification_id: str) -> str:
    return _NOT_LOCAL.sub(".", notification_id)


class UndeliverableAddress(ValueError):
    """The address can never be delivered to: the notification is dead at once."""


Resolver = Callable[[str, int], Awaitable[list[str]]]


async def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (the system resolver, as the HTTP client uses)."""
    found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in found))


class WebhookGuard:
    """The SSRF guard (rules in ``domain.destinations``): checked when a subscription is
    made and again before every send, since what a name resolves to can change."""

    def __init__(
        self, allowed: AllowList, resolver: Resolver = resolve, timeout: float = 5.0
    ) -> None:
        self.allowed = allowed
        self._resolve = resolver
        self._timeout = timeout

    async def addresses(self, url: str) -> list[str]:
        """The addresses ``url`` may be called at; ``InvalidInput`` (``url``) when none."""
        parsed = httpx.URL(url)
        host = parsed.host
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        literal = literal_address(host)
        if literal is not None:
            found = [str(literal)]
        elif self.allowed.allows_host(host):
            return []
        else:
            try:
                found = await asyncio.wait_for(self._resolve(host, port), self._timeout)
            except (OSError, TimeoutError, UnicodeError):
                found = []
            if not found:
                raise InvalidInput(
                    f"{host} does not resolve", field="url", rule=destinations.UNRESOLVABLE
                )
        why = refusal(host, found, self.allowed)
        if why is not None:
            raise InvalidInput(why, field="url", rule=destinations.PRIVATE_ADDRESS)
        return found

    async def check(self, url: str) -> None:
        await self.addresses(url)


class HttpWebhookSender:
    """POSTs to a checked address: the guard resolves the host, and the request goes to the
    address it approved (``Host`` and TLS server name stay the URL's), so the name cannot be
    re-pointed at an internal address between the check and the connection.

    A send takes at most ``timeout`` seconds in all (httpx's timeouts bound each read and
    write, so a receiver sending a byte now and then held the dispatcher's whole pass for as
    long as it liked) and reads at most ``ANSWER_READ_MAX`` bytes of the answer, whose status
    alone counts (an answer of any size was read into memory)."""

    def __init__(self, timeout: float, guard: WebhookGuard) -> None:
        self._timeout = timeout
        self._guard = guard
        self._tls: ssl.SSLContext | None = None
        self._clients: dict[str, httpx.AsyncClient] = {}

    def _client(self, host: str) -> httpx.AsyncClient:
        """A connection pool per host name: pools key connections by the address a request
        goes to, and two names at one address (shared hosting, a CDN) shared a connection,
        so one name's webhook went over TLS checked for the other name's certificate."""
        client = self._clients.get(host)
        if client is None:
            self._tls = self._tls or httpx.create_ssl_context()  # the CA bundle, loaded once
            client = httpx.AsyncClient(
                timeout=self._timeout, follow_redirects=False, verify=self._tls
            )
            self._clients[host] = client
        return client

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> None:
        addresses = await self._guard.addresses(url)
        target = httpx.URL(url)
        client = self._client(target.host)
        extensions: dict[str, str] = {}
        if addresses:
            extensions = {"sni_hostname": target.host}
            headers = {**headers, "Host": target.netloc.decode("ascii")}
            target = target.copy_with(host=addresses[0])
        request = client.build_request(
            "POST", target, content=body, headers=headers, extensions=extensions
        )
        status = await self._status(client, request, url)
        if not 200 <= status < 300:
            # The error is kept (ledger, /dead, NotificationDead): no credentials of the URL.
            raise WebhookRejected(f"HTTP {status} from {mask_url(url)}")

    async def _status(self, client: httpx.AsyncClient, request: httpx.Request, url: str) -> int:
        """The answer's status, within the timeout; the rest of a small answer is read too
        (so the connection serves the next send), a large or slow one is left unread."""
        response: httpx.Response | None = None
        try:
            async with asyncio.timeout(self._timeout):
                response = await _send(client, request)
                read = 0
                async for chunk in response.aiter_raw():
                    read += len(chunk)
                    if read > ANSWER_READ_MAX:
                        break
        except TimeoutError:
            if response is None:
                raise WebhookRejected(
                    f"no answer within {self._timeout} s from {mask_url(url)}"
                ) from None
        finally:
            if response is not None:
                await response.aclose()
        return response.status_code

    async def close(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()


async def _send(client: httpx.AsyncClient, request: httpx.Request) -> httpx.Response:
    """The request's answer; sent once more, on a new connection, when the connection it went
    out on was dropped unanswered: receivers close an idle one after a few seconds (5 s for
    uvicorn, Node.js and Apache, httpx's own pool time), so a send may meet the close. A
    webhook may arrive twice in any case (receivers drop repeats by ``webhook-id``)."""
    try:
        return await client.send(request, stream=True)
    except DROPPED:  # the pool has discarded that connection
        return await client.send(request, stream=True)


DROPPED = (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)
"""A connection closed or reset under a request before any answer came."""

ANSWER_READ_MAX = 64 * 1024


class WebhookRejected(Exception):
    pass
