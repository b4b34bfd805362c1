"""The dispatcher: a background loop that sends due e-mails and webhooks.

Each pass reads the due notifications (``queries.due``), sends them with bounded
concurrency on the send loop (``send_loop``: a thread of its own in the service), and
records every outcome through the unit of work (``handlers.record_outcomes``: retries
with backoff and jitter, dead notifications, the ledger and the outcome events).
Outcomes are recorded with the conflict retry, since losing them would send again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import traceback
from collections.abc import Mapping

from ikmkit.lease import Lease
from ikmkit.unit_of_work import Units
from services.notify import handlers, queries
from services.notify.commands import SendOutcome
from services.notify.domain.model import Contact, DeliveryRetries, Notification
from services.notify.domain.webhooks import mask_url, signed_headers
from services.notify.queries import DueWork
from services.notify.send_loop import InPlace, SendLoop
from services.notify.senders import EmailSender, UndeliverableAddress, WebhookSender
from services.notify.store import NotifyUnit
from services.notify.templates import Renderer, greeting_name, rendered

log = logging.getLogger("ikm.notify.dispatcher")

# Under load, at most this many passes in a row read on from the previous read's end.
FULL_READ_EVERY = 8
# While the consumer works through a backlog (it said so within BEHIND_SECONDS), a pass
# takes at most BEHIND_BATCH: the sends (their own thread) then take a pass per consumer
# commit instead of an equal share of the CPU, and e-mail still goes out all along.
BEHIND_SECONDS = 1.0
BEHIND_BATCH = 32


class Dispatcher:
    def __init__(
        self,
        units: Units[NotifyUnit],
        *,
        email: EmailSender,
        webhooks: WebhookSender,
        renderer: Renderer,
        policy: DeliveryRetries,
        batch_size: int = 500,
        concurrency: int = 16,
        idle_seconds: float = 0.5,
        sending: SendLoop | None = None,
        offices: Mapping[str, Contact] | None = None,
        lease: Lease | None = None,
    ) -> None:
        self._units = units
        self._lease = lease  # None: the only dispatcher of the store
        self._offices = offices or {}  # configured addresses (settings), not the replica's
        self._email = email
        self._webhooks = webhooks
        self._renderer = renderer
        self.policy = policy
        self.batch_size = batch_size
        self._concurrency = concurrency
        self._idle = idle_seconds
        self._sending = sending or InPlace()
        self._wake = asyncio.Event()
        self.attempted_total = 0
        self._unrecorded: set[str] = set()
        self._more: str | None = None  # where the last read's due rows not read begin
        self._from_more = 0  # passes in a row that read from there
        self._recording: asyncio.Task[None] | None = None
        self._behind_until = 0.0

    def wake(self) -> None:
        """New pending notifications were written: look now rather than at the next poll."""
        self._wake.set()

    def consumer_behind(self) -> None:
        """The consumer is catching up on a backlog: smaller passes for a while."""
        self._behind_until = time.monotonic() + BEHIND_SECONDS

    def _pass_size(self) -> int:
        if time.monotonic() < self._behind_until:
            return min(self.batch_size, BEHIND_BATCH)
        return self.batch_size

    async def run(self) -> None:
        """A pass on every wake (notifications committed), at once and while there is more;
        ``idle_seconds`` is only the fallback for retries falling due. A pass's outcomes are
        recorded while the next pass reads and sends, so the SMTP server is not left idle
        during the writes; the next pass skips what is sent but not yet recorded."""
        keeping = asyncio.create_task(self._lease.keep()) if self._lease else None
        try:
            while True:
                self._wake.clear()  # what is committed from here on wakes the next pass
                try:
                    attempted = await self._turn()
                except Exception:
                    log.exception("dispatch pass failed; retrying")
                    attempted = 0
                    await asyncio.sleep(self._idle)
                self.attempted_total += attempted
                if attempted < self._pass_size():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), self._idle)
        finally:
            try:
                await self._settle()  # what was sent is recorded, not sent again after a restart
            finally:
                if keeping is not None:
                    keeping.cancel()
                if self._lease is not None:
                    await self._lease.release()  # then another replica's dispatcher goes on

    async def _turn(self) -> int:
        """A pass if this replica's dispatcher holds the lease (kept while it sends by
        ``run``): several replicas' dispatchers would each send what they read before the
        first had recorded it. The others wait and take over when the holder stops or dies."""
        if self._lease is not None and not await self._lease.held():
            return 0
        return await self._pass()

    async def dispatch_due(self) -> int:
        """Send one batch of due e-mails and webhooks and record the outcomes; returns how
        many were attempted."""
        attempted = await self._pass()
        await self._settle()
        return attempted

    async def close(self) -> None:
        """Close the senders' connections on the loop they were opened on, then that loop."""
        try:
            await self._sending.run(self._close_senders())
        finally:
            await self._sending.close()

    async def _close_senders(self) -> None:
        try:
            await self._email.close()
        finally:
            await self._webhooks.close()

    async def _pass(self) -> int:
        """Send one batch; its outcomes are recorded by a task of their own."""
        fresh, work = await self._fresh()
        if not fresh:
            return 0
        outcomes: list[SendOutcome | None] = [None] * len(fresh)
        try:
            await self._sending.run(self._send_all(fresh, work, outcomes))
        finally:
            # Handed to their recording before anything else is awaited, even when a stop
            # cuts the batch short: what was sent is written (after the previous pass's, in
            # order), not sent again after a restart.
            previous = self._hand_over([o for o in outcomes if o is not None])
        if previous is not None:  # one recording ahead at most: the sends wait for the store
            await asyncio.shield(previous)
        return len(fresh)

    def _hand_over(self, outcomes: list[SendOutcome]) -> asyncio.Task[None] | None:
        """Start recording ``outcomes`` once the recording under way ends; returns that one."""
        previous, self._recording = self._recording, None
        if not outcomes:
            self._recording = previous
            return None
        self._unrecorded.update(o.notification.id for o in outcomes)
        self._recording = asyncio.create_task(self._record_after(previous, outcomes))
        return previous

    async def _fresh(self) -> tuple[list[Notification], DueWork]:
        """The next batch: due, and not sent already but still being recorded (those are
        pending until recorded). Under load the previous batch is always being recorded, so
        the read goes on from where the previous one ended instead of reading those rows
        again to skip them. What that passes over (a row committed late with an earlier due
        time, an outcome whose recording failed) is read by a pass from the start: one when
        nothing is being recorded, and at the latest after ``FULL_READ_EVERY`` passes reading on."""
        after = self._more if self._unrecorded and self._from_more < FULL_READ_EVERY else None
        size = self._pass_size()
        limit = size if after else size + len(self._unrecorded)
        work = await self._units.read(queries.due, limit, after)
        self._from_more = self._from_more + 1 if after else 0
        fresh = [n for n in work.notifications if n.id not in self._unrecorded]
        # The cursor is past the last row read: valid only if every fresh row read is sent.
        self._more = work.more if len(fresh) <= size else None
        return fresh[:size], work

    async def _record_after(
        self, previous: asyncio.Task[None] | None, outcomes: list[SendOutcome]
    ) -> None:
        if previous is not None:  # written first, however it ends (not cancelled with this)
            await asyncio.wait([previous])
        await self._record(outcomes)

    async def _record(self, outcomes: list[SendOutcome]) -> None:
        try:
            await self._units.run(handlers.record_outcomes, outcomes, self.policy)
        except Exception:
            # Not recorded, so still due: sent again by a later pass (as before the split).
            log.exception("recording %d send outcomes failed", len(outcomes))
        finally:
            self._unrecorded.difference_update(o.notification.id for o in outcomes)

    async def _settle(self) -> None:
        """Wait for the outcomes being recorded, if any. Shielded: a stop that cancels the
        waiter must not cancel the write (what was sent would be sent again)."""
        if self._recording is not None:
            recording = self._recording
            await asyncio.shield(recording)
            if self._recording is recording:
                self._recording = None

    async def _send_all(
        self, batch: list[Notification], work: DueWork, outcomes: list[SendOutcome | None]
    ) -> None:
        """Every outcome into ``outcomes``, in the batch's order, ``concurrency`` sends at a
        time: as many workers taking the next notification, rather than a task per
        notification queued on a semaphore (a task, a gather callback and a semaphore wait
        less per send)."""
        queue = iter(enumerate(batch))

        async def worker() -> None:
            for i, notification in queue:
                outcomes[i] = await self._attempt(notification, work)

        await asyncio.gather(*(worker() for _ in range(min(self._concurrency, len(batch)))))

    async def _attempt(self, notification: Notification, work: DueWork) -> SendOutcome:
        try:
            if notification.channel == "email":
                return await self._send_email(notification, work)
            return await self._post_webhook(notification, work)
        except UndeliverableAddress as exc:
            error = f"undeliverable address: {exc}"
            return SendOutcome(notification, error, permanent=True)
        except Exception as exc:
            error = "".join(traceback.format_exception_only(exc)).strip()
            if notification.channel == "webhook" and notification.target:
                # A transport error may quote the URL: kept errors never hold its credentials.
                error = error.replace(notification.target, mask_url(notification.target))
            return SendOutcome(notification, error[:1000])

    async def _send_email(self, notification: Notification, work: DueWork) -> SendOutcome:
        contact = work.contacts.get(notification.recipient) or self._offices.get(
            notification.recipient
        )
        # The recipient as they are now (address, name, language): a retry or a redrive after
        # the owner (or the operator, for an office) corrected a bad address goes to the
        # corrected one, and a partner known only after its MoU's e-mail was decided is written
        # to in its own language. What was kept with the notification serves the rest.
        target = contact.email if contact is not None else notification.target
        if target is None:
            return SendOutcome(
                notification, f"no e-mail address known for {notification.recipient}"
            )
        language = contact.language if contact is not None else notification.language
        name = greeting_name(notification.recipient, contact, language)
        message = rendered(notification, self._renderer, name, language)
        await self._email.send(
            to=target, subject=message.subject, body=message.body, message_id=notification.id
        )
        resolved = target if target != notification.target else None
        return SendOutcome(notification, target=resolved)

    async def _post_webhook(self, notification: Notification, work: DueWork) -> SendOutcome:
        subscription = work.subscriptions.get(notification.subscription_id or "")
        if subscription is None or not subscription.active:  # stopped: no retry brings it back
            return SendOutcome(notification, "subscription deleted", permanent=True)
        body = notification.body.encode()
        timestamp = str(int(time.time()))
        headers = signed_headers(subscription, body, timestamp, notification.id)
        await self._webhooks.post(subscription.url, body, headers)
        return SendOutcome(notification)
