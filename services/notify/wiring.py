"""The notify parts shared by the consumer, the dispatcher and the API, built once per runtime."""

from __future__ import annotations

from dataclasses import dataclass

from ikmkit.service.runtime import Runtime
from services.notify import service
from services.notify.dispatcher import Dispatcher
from services.notify.domain import MINISTRY, Contact, RetryPolicy, regional_recipient
from services.notify.senders import HttpWebhookSender, SmtpMailer
from services.notify.settings import NotifySettings
from services.notify.templates import Renderer


@dataclass
class Components:
    deciding: service.Deciding
    dispatcher: Dispatcher
    mailer: SmtpMailer
    webhooks: HttpWebhookSender
    subscriptions: service.SubscriptionCache


def _directory(settings: NotifySettings) -> dict[str, Contact]:
    directory = {
        regional_recipient(province): Contact(
            recipient=regional_recipient(province),
            name=f"Disperindag Provinsi {province}",
            email=address,
            province=province,
        )
        for province, address in settings.regional_emails.items()
    }
    if settings.ministry_email:
        directory[MINISTRY] = Contact(
            recipient=MINISTRY, name="Ditjen IKMA", email=settings.ministry_email
        )
    return directory


def components(runtime: Runtime) -> Components:
    """Built on first use (no I/O: connections open when the first message is sent)."""
    built = runtime.extras.get("notify")
    if isinstance(built, Components):
        return built
    settings = runtime.settings
    assert isinstance(settings, NotifySettings)
    mailer = SmtpMailer(settings)
    webhooks = HttpWebhookSender(settings.webhook_timeout)
    renderer = Renderer()
    dispatcher = Dispatcher(
        runtime.store,
        service.Dispatching(
            email=mailer,
            webhooks=webhooks,
            outbox=runtime.outbox,
            renderer=renderer,
            policy=RetryPolicy(
                max_attempts=settings.max_attempts,
                base_seconds=settings.retry_base_seconds,
                max_seconds=settings.retry_max_seconds,
            ),
            batch_size=settings.dispatch_batch,
            concurrency=settings.dispatch_concurrency,
        ),
        idle_seconds=settings.dispatch_idle_seconds,
    )
    cache = service.SubscriptionCache()
    deciding = service.Deciding(
        renderer=renderer,
        subscriptions=cache,
        directory=_directory(settings),
        on_pending=dispatcher.wake,
    )
    built = Components(deciding, dispatcher, mailer, webhooks, cache)
    runtime.extras["notify"] = built
    return built


async def run_dispatcher(runtime: Runtime) -> None:
    """Background task: the dispatcher loop, closing the senders when the service stops."""
    parts = components(runtime)
    try:
        await parts.dispatcher.run()
    finally:
        await parts.mailer.close()
        await parts.webhooks.close()
