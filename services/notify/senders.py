"""Adapters that actually send: SMTP (aiosmtplib, pooled connections) and HTTP webhooks."""

from __future__ import annotations

import asyncio
import contextlib
from email.message import EmailMessage
from email.utils import formatdate

import aiosmtplib
import httpx

from services.notify.settings import NotifySettings


class SmtpMailer:
    """Sends plain-text mail over a small pool of reused SMTP connections.

    A connection that fails is closed and replaced on next use, so an SMTP server
    that was down is picked up again without a restart.
    """

    def __init__(self, settings: NotifySettings) -> None:
        self._settings = settings
        self._idle: asyncio.Queue[aiosmtplib.SMTP] = asyncio.Queue()
        for _ in range(settings.smtp_connections):
            self._idle.put_nowait(self._client())

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

    async def send(self, *, to: str, subject: str, body: str, message_id: str) -> None:
        message = EmailMessage()
        message["From"] = self._settings.smtp_from
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = formatdate(usegmt=True)
        # Stable per notification: a receiver can drop the copy a crash-and-resend produces.
        message["Message-ID"] = f"<{_local_part(message_id)}@notify.ikm>"
        message["X-IKM-Notification-Id"] = message_id
        message.set_content(body)
        client = await self._idle.get()
        try:
            if not client.is_connected:
                await client.connect()
            await client.send_message(message)
        except BaseException:
            with contextlib.suppress(Exception):
                client.close()
            client = self._client()
            raise
        finally:
            self._idle.put_nowait(client)

    async def close(self) -> None:
        while not self._idle.empty():
            client = self._idle.get_nowait()
            if client.is_connected:
                with contextlib.suppress(Exception):
                    await client.quit()


def _local_part(notification_id: str) -> str:
    return "".join(c if c.isalnum() or c in "-." else "." for c in notification_id)


class HttpWebhookSender:
    def __init__(self, timeout: float) -> None:
        self._timeout = timeout
        self._client: httpx.AsyncClient | None = None

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> None:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._timeout, follow_redirects=False)
        response = await self._client.post(url, content=body, headers=headers)
        if not 200 <= response.status_code < 300:
            raise WebhookRejected(f"HTTP {response.status_code} from {url}")

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()


class WebhookRejected(Exception):
    pass
