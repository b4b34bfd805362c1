"""State a service learns from another service's events: one sequenced copy per aggregate.

Every event of an aggregate carries ``ce_sequence`` 1, 2, 3 ... without gaps (``ikmkit.messaging
.outbox``), and Kafka delivers one aggregate's events in order. A replica document remembers the
sequence of the last event it applied, so the rule is the same in every service:

- ``sequence <= applied``: a redelivery or replay; nothing changes.
- ``sequence == applied + 1``: the next event; applied.
- anything else: an event is missing (dead-lettered, or the replica was started mid-stream).
  ``SequenceGap`` sends this one to the dead-letter topic with the gap named; redriving the
  missing event first, then this one, repairs the replica. Guessing would corrupt it.

So a replica consumer handles every event type of the topic it follows: those that change
nothing it keeps still ``advance`` the sequence.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from contracts.envelope import EnvelopeAttributes
from ikmkit.messaging.consumer import PermanentError
from ikmkit.store import Transaction


class Replicated(BaseModel):
    """Base of a replica's model: the last applied ``ce_sequence`` and the store version."""

    sequence: int = 0
    version: int = 0


class SequenceGap(PermanentError):
    reason = "sequence_gap"


_SEEN: weakref.WeakKeyDictionary[Transaction, dict[str, dict[str, Any]]] = (
    weakref.WeakKeyDictionary()
)
"""Per transaction and collection, the replica copies read or written in it (None: absent).
A batch of events in one unit of work reads each aggregate once (``prefetch``, or its first
event) and its later events use the copy the previous one wrote; the transaction's end
(commit or rollback) drops them with it. Only ``SequencedReplica`` writes its collection."""


@dataclass(frozen=True)
class SequencedReplica[M: Replicated]:
    """The replica of one kind of aggregate in ``collection``, keyed by the event's subject."""

    collection: str
    model: type[M]

    async def get(self, tx: Transaction, key: str) -> M | None:
        seen = self._seen(tx)
        if key in seen:
            found: M | None = seen[key]
            return found
        doc = await tx.get(self.collection, key)
        seen[key] = None if doc is None else self.model.model_validate(doc)
        return seen[key]  # type: ignore[no-any-return]

    async def prefetch(self, tx: Transaction, keys: Sequence[str]) -> None:
        """Read the copies of ``keys`` in one query, for the events of a batch to apply."""
        seen = self._seen(tx)
        wanted = [k for k in dict.fromkeys(keys) if k not in seen]
        docs = await tx.get_many(self.collection, wanted)
        for key in wanted:
            doc = docs.get(key)
            seen[key] = None if doc is None else self.model.model_validate(doc)

    def _seen(self, tx: Transaction) -> dict[str, Any]:
        return _SEEN.setdefault(tx, {}).setdefault(self.collection, {})

    async def get_many(self, tx: Transaction, keys: Sequence[str]) -> dict[str, M]:
        docs = await tx.get_many(self.collection, keys)
        return {key: self.model.model_validate(doc) for key, doc in docs.items()}

    async def apply(
        self, tx: Transaction, meta: EnvelopeAttributes, change: Callable[[M | None], M]
    ) -> M | None:
        """Apply the event ``meta`` describes; ``change`` gets the current copy (None before
        the aggregate's first event) and returns the new one. None if it was applied before."""
        current = await self.get(tx, meta.subject)
        applied = current.sequence if current is not None else 0
        if meta.sequence <= applied:
            return None
        if meta.sequence != applied + 1:
            raise SequenceGap(
                f"{self.collection}/{meta.subject}: event {meta.id} ({meta.type}) has sequence"
                f" {meta.sequence}, but the replica has applied {applied}: events"
                f" {applied + 1}..{meta.sequence - 1} are missing"
            )
        new = change(current).model_copy(update={"sequence": meta.sequence})
        doc: dict[str, Any] = {**new.model_dump(mode="json"), "id": meta.subject}
        if current is None:
            stored = await tx.insert(self.collection, doc)
        else:
            stored = await tx.replace(self.collection, {**doc, "version": current.version})
        self._seen(tx)[meta.subject] = new.model_copy(update={"version": stored["version"]})
        return new

    async def advance(self, tx: Transaction, meta: EnvelopeAttributes) -> None:
        """An event that changes nothing here still moves the replica's sequence on."""

        def unchanged(current: M | None) -> M:
            if current is None:
                raise SequenceGap(
                    f"{self.collection}/{meta.subject}: event {meta.id} ({meta.type}) before"
                    " the aggregate's first event"
                )
            return current

        await self.apply(tx, meta, unchanged)
