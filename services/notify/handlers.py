"""Notify's writes, each in one unit of work (``Units.run``, or the consumer's).

Deciding and sending are separate: ``notify_about`` (the consumer) writes one notification
per (event, recipient, channel), with that dedup key as its id, in bulk; in-app messages are
delivered right there. The dispatcher sends e-mails and webhooks and hands the outcomes to
``record_outcomes``, which applies the domain's transitions and keeps the ledger.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence

from contracts.base import Event
from contracts.envelope import EnvelopeAttributes
from ikmkit.auth import Caller
from ikmkit.service.errors import NotFound, Violations
from ikmkit.unit_of_work import Changed, Units
from services.notify.commands import Redrive, SendOutcome, Subscribe
from services.notify.domain import access, rules, webhooks
from services.notify.domain.model import IN_APP, Contact, Delivery, DeliveryRetries, Notification
from services.notify.domain.webhooks import Subscription
from services.notify.replicas import ContactBook
from services.notify.store import NotifyUnit, SubscriptionCache


async def notify_about(
    uow: NotifyUnit,
    items: Sequence[tuple[Event, EnvelopeAttributes]],
    configured: Mapping[str, Contact],
    subscriptions: SubscriptionCache,
) -> list[Notification]:
    """Every notification the rule table and the webhook subscriptions ask for, for a batch
    of events: one contact read, one bulk insert. Nothing is rendered here: e-mails are
    rendered when sent and in-app messages when read, from the event data stored with them."""
    book = await ContactBook.open(uow.contacts, items, configured)
    made: list[Notification] = []
    for event, meta in items:
        book.learn(event)
        made += rules.notifications_for(event, meta, book.get, uow.now, book.deliveries_for(event))
        wanted = await subscriptions.matching(uow, type(event).__name__, meta.region)
        made += webhooks.notifications_for(event, meta, wanted, uow.now)
    await book.save()
    # An in-app message is delivered by this very write: the notification is its ledger entry.
    await uow.notifications.add_many(made)
    return made


async def record_outcomes(
    uow: NotifyUnit, outcomes: Sequence[SendOutcome], policy: DeliveryRetries
) -> None:
    """Store what the dispatcher's sends came to; plain successes are written in bulk."""
    delivered: dict[int, list[str]] = {}
    lines: list[Delivery] = []
    # The ledger rows' ids: one random key per batch and the outcome's place in it (a uuid4
    # per row cost as much as building the row).
    batch = uuid.uuid4().hex
    for i, outcome in enumerate(outcomes):
        after = uow.collect(
            outcome.notification.attempted(
                outcome.error, uow.now, policy, permanent=outcome.permanent, target=outcome.target
            )
        )
        if after.status == "delivered" and outcome.target is None:
            delivered.setdefault(after.attempts, []).append(after.id)
        else:
            await uow.notifications.save(after)
        line = Delivery.of(after, after.ledger_status, outcome.error, uow.now, key=f"{batch}.{i}")
        lines.append(line)
    for attempts, ids in delivered.items():
        await uow.notifications.mark_delivered(ids, attempts=attempts, at=uow.now)
    await uow.ledger.add_many(lines)


REDRIVE_PAGE = 500


async def redrive_requested(units: Units[NotifyUnit], cmd: Redrive, caller: Caller) -> list[str]:
    """``POST /dead/redrive``: the named notifications in one unit of work; every dead one
    (``all``) a page per unit of work. In one unit of work, that held the store's write lock,
    which every unit and read takes in turn (the consumer, the dispatcher, every API read),
    for as long as it took: 47 s for 60,000 dead notifications after an outage."""
    access.authorize_operate(caller)
    cmd.check()
    if not cmd.all:
        return await units.run(redrive, cmd, caller)
    redriven: list[str] = []
    after: str | None = None
    while True:  # on from the last page's place: one that dies again meanwhile is not taken
        page, after = await units.run(_redrive_dead_page, after, caller)
        redriven += page
        if after is None:
            return redriven


async def redrive(uow: NotifyUnit, cmd: Redrive, caller: Caller) -> list[str]:
    """Put the named dead notifications back in the queue; each redrive is recorded in the
    ledger (every dead one: ``redrive_requested``)."""
    access.authorize_operate(caller)
    cmd.check()
    refused = Violations()
    found: list[Changed[Notification]] = []
    named: set[str] = set()
    for i, notification_id in enumerate(cmd.ids):
        if notification_id in named:  # a repeat would save over the first copy's version
            continue
        named.add(notification_id)
        notification = await uow.notifications.find_one(notification_id)
        if notification is None:
            raise NotFound(f"no notification {notification_id}", field="id")
        changed = refused.check(notification.redriven, uow.now, field=f"ids[{i}]")
        if changed is not None:
            found.append(changed)
    refused.raise_all()
    return await _redriven(uow, found, caller)


async def _redrive_dead_page(
    uow: NotifyUnit, after: str | None, caller: Caller
) -> tuple[list[str], str | None]:
    page, more = await uow.notifications.dead(REDRIVE_PAGE, after)
    return await _redriven(uow, [n.redriven(uow.now) for n in page], caller), more


async def _redriven(
    uow: NotifyUnit, redriven: list[Changed[Notification]], caller: Caller
) -> list[str]:
    again = [await uow.notifications.save(uow.collect(c)) for c in redriven]
    why = f"redriven by {caller.subject}"
    await uow.ledger.add_many([Delivery.of(n, "redriven", why, uow.now) for n in again])
    return [n.id for n in again]


async def mark_read(uow: NotifyUnit, message_id: str, caller: Caller) -> None:
    message = await uow.notifications.find_one(message_id)
    if message is None or message.channel != IN_APP or not access.can_mark_read(caller, message):
        raise NotFound(f"no inbox message {message_id}", field="id")
    await uow.notifications.save(message.marked_read())


async def subscribe(uow: NotifyUnit, cmd: Subscribe, caller: Caller) -> Subscription:
    access.authorize_subscribe(caller, cmd.province)
    webhooks.check_subscription(cmd.event_types, cmd.secret, rules.SUBSCRIBABLE)
    subscription = Subscription(
        id=str(uuid.uuid4()),
        url=str(cmd.url),
        event_types=cmd.event_types,
        province=cmd.province,
        secret=cmd.secret or webhooks.new_secret(),
        description=cmd.description,
        created_at=uow.now,
    )
    return await uow.subscriptions.add(subscription)


async def unsubscribe(uow: NotifyUnit, subscription_id: str, caller: Caller) -> None:
    access.authorize_unsubscribe(caller)
    found = await uow.subscriptions.find_one(subscription_id)
    if found is None or not access.can_see_subscription(caller, found):
        raise NotFound(f"no subscription {subscription_id}", field="id")
    await uow.subscriptions.save(found.stopped())
