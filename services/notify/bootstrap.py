"""Notify's typed dependencies, composed once per process (fakes and clocks by argument)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ikmkit.clock import Clock, system_clock
from ikmkit.lease import Lease
from ikmkit.messaging.outbox import Outbox
from ikmkit.service.runtime import Runtime
from ikmkit.store import Store
from ikmkit.unit_of_work import Units
from services.notify.dispatcher import Dispatcher
from services.notify.domain.destinations import AllowList
from services.notify.domain.model import MINISTRY, Contact, DeliveryRetries, regional_recipient
from services.notify.send_loop import InPlace, SendThread
from services.notify.senders import (
    EmailSender,
    HttpWebhookSender,
    SmtpMailer,
    WebhookGuard,
    WebhookSender,
)
from services.notify.settings import NotifySettings
from services.notify.store import DISPATCH, NotifyUnit, SubscriptionCache
from services.notify.templates import Renderer


@dataclass(frozen=True)
class Notify:
    units: Units[NotifyUnit]
    settings: NotifySettings
    clock: Clock
    renderer: Renderer
    configured_contacts: Mapping[str, Contact]
    """The regional offices' and the ministry's addresses (from settings, not from events)."""
    subscriptions: SubscriptionCache
    dispatcher: Dispatcher
    email: EmailSender
    webhooks: WebhookSender
    guard: WebhookGuard


def bootstrap(
    store: Store,
    outbox: Outbox,
    settings: NotifySettings,
    *,
    clock: Clock = system_clock,
    email: EmailSender | None = None,
    webhooks: WebhookSender | None = None,
    guard: WebhookGuard | None = None,
) -> Notify:
    """No I/O: connections open when the first message is sent. The real senders talk on a
    thread of their own (``send_loop``); fakes given here on the caller's loop."""
    sending = SendThread() if email is None and webhooks is None else InPlace()
    units = Units(store, outbox, NotifyUnit, clock=clock)
    email = email or SmtpMailer(settings)
    guard = guard or WebhookGuard(AllowList.parse(settings.webhook_allowed_hosts))
    webhooks = webhooks or HttpWebhookSender(settings.webhook_timeout, guard)
    renderer = Renderer()
    policy = DeliveryRetries(
        max_attempts=settings.max_attempts,
        base_seconds=settings.retry_base_seconds,
        max_seconds=settings.retry_max_seconds,
    )
    contacts = configured_contacts(settings)
    dispatcher = Dispatcher(
        units,
        email=email,
        webhooks=webhooks,
        renderer=renderer,
        policy=policy,
        batch_size=settings.dispatch_batch,
        concurrency=settings.dispatch_concurrency,
        idle_seconds=settings.dispatch_idle_seconds,
        sending=sending,
        offices=contacts,
        lease=Lease(store, DISPATCH, "dispatcher", seconds=settings.dispatch_lease_seconds),
    )
    cache = SubscriptionCache()
    return Notify(
        units, settings, clock, renderer, contacts, cache, dispatcher, email, webhooks, guard
    )


def from_runtime(runtime: Runtime, *, clock: Clock = system_clock) -> Notify:
    settings = runtime.settings
    assert isinstance(settings, NotifySettings)
    return bootstrap(runtime.store, runtime.outbox, settings, clock=clock)


def configured_contacts(settings: NotifySettings) -> dict[str, Contact]:
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


async def run_dispatcher(deps: Notify, runtime: Runtime) -> None:
    """Background task: the dispatcher loop, closing the senders when the service stops."""
    try:
        await deps.dispatcher.run()
    finally:
        await deps.dispatcher.close()
