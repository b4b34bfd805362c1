"""The contact replica: names, addresses and languages learned from other services' events.

Not a ``SequencedReplica``: contacts are keyed by recipient, and a participant's details
arrive on course events (whose subject, and so whose sequence, is the course, shared by all
its participants); and a missing event must not stop notifications (the address is read
again when sending). The latest details win, in the order the events are decided.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from contracts.base import Event
from contracts.envelope import EnvelopeAttributes
from contracts.notify import Channel
from services.notify.domain import rules
from services.notify.domain.model import Contact
from services.notify.store import ContactRepository


class ContactBook:
    """The contacts a batch of events needs, changing as the batch teaches new details: each
    event sees the contacts learned from the events before it. One read, one bulk write."""

    def __init__(
        self,
        repository: ContactRepository,
        configured: Mapping[str, Contact],
        stored: dict[str, Contact],
        taught: dict[int, list[Contact]] | None = None,
    ) -> None:
        self._repository = repository
        self._stored = stored
        self._known: dict[str, Contact] = {**configured, **stored}
        self._changed: dict[str, Contact] = {}
        self._taught = taught or {}
        """Each event's contacts, made once in ``open`` (by ``id`` of the event) for ``learn``."""
        self._pairs: dict[int, list[tuple[str, Channel]]] = {}
        """Each event's (recipient, channel) pairs, found in ``open``, for ``deliveries_for``."""

    @classmethod
    async def open(
        cls,
        repository: ContactRepository,
        items: Sequence[tuple[Event, EnvelopeAttributes]],
        configured: Mapping[str, Contact],
    ) -> ContactBook:
        """``configured``: the regional offices' and the ministry's addresses (settings)."""
        taught = {id(event): rules.contacts_in(event) for event, _ in items}
        pairs = {id(event): rules.deliveries_for(event) for event, _ in items}
        wanted = {c.recipient for contacts in taught.values() for c in contacts}
        wanted.update(
            recipient
            for found in pairs.values()
            for recipient, _ in found
            if recipient not in configured
        )
        stored = await repository.get_many(sorted(wanted))
        book = cls(repository, configured, stored, taught)
        book._pairs = pairs
        return book

    def deliveries_for(self, event: Event) -> list[tuple[str, Channel]]:
        """``rules.deliveries_for(event)``, as ``open`` found it for an event of the batch."""
        found = self._pairs.pop(id(event), None)
        return rules.deliveries_for(event) if found is None else found

    def learn(self, event: Event) -> None:
        taught = self._taught.pop(id(event), None)
        for contact in rules.contacts_in(event) if taught is None else taught:
            if not contact.same_as(self._known.get(contact.recipient)):
                self._known[contact.recipient] = self._changed[contact.recipient] = contact

    def get(self, recipient: str) -> Contact | None:
        return self._known.get(recipient)

    async def save(self) -> None:
        """New contacts in bulk; known ones over the version they were read at."""
        fresh: list[Contact] = []
        for recipient, contact in self._changed.items():
            stored = self._stored.get(recipient)
            if stored is None:
                fresh.append(contact)
            else:
                await self._repository.save(contact.model_copy(update={"version": stored.version}))
        if fresh:
            await self._repository.add_many(fresh)
