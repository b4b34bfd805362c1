"""A lease in the service's store: which one of a service's replicas does the work only one
may do at a time (the outbox relay, which keeps the log in store order; notify's dispatcher,
which would send an e-mail once per replica that read it).

The holder renews the lease while it works, once half of it is gone; a replica that stops
hands it back (``release``) and one that dies loses it when it runs out, so another replica
takes over within ``seconds``. Taking and renewing are each one unit of work on one document:
of two replicas racing for it, the loser's write conflicts and it does not hold the lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid

from ikmkit.store import RETRYABLE, DuplicateKey, Store, Transaction


class Lease:
    def __init__(
        self,
        store: Store,
        collection: str,
        lease_id: str,
        *,
        seconds: float = 10.0,
        owner: str | None = None,
    ) -> None:
        self._store = store
        self._collection = collection
        self._id = lease_id
        self.seconds = seconds
        self.owner = owner or str(uuid.uuid4())
        self._until = 0.0
        self.gained = False
        """Whether the last ``held`` took the lease anew (another may have worked meanwhile)."""

    async def held(self) -> bool:
        """Ours (taken, or renewed once half of it is gone)?"""
        now = time.time()
        self.gained = False
        if self._until - now > self.seconds / 2:
            return True
        try:
            async with self._store.transaction() as uow:
                until = await self._claim(uow, now)
        except (*RETRYABLE, DuplicateKey):
            return False
        self.gained = until > now >= self._until
        self._until = until
        return until > now

    async def keep(self) -> None:
        """Renew the lease while it is ours, until cancelled: the holder runs this beside its
        work, so work longer than the lease (a slow batch) does not let another replica take
        over halfway and do it again."""
        while True:
            await asyncio.sleep(self.seconds / 4)
            if self._until > time.time():
                with contextlib.suppress(Exception):  # the next ``held`` tells
                    await self.held()

    async def _claim(self, uow: Transaction, now: float) -> float:
        """Take or renew the lease; until when we hold it (0 if another replica does)."""
        lease = await uow.get(self._collection, self._id)
        expires = now + self.seconds
        if lease is None:
            await uow.insert(
                self._collection, {"id": self._id, "owner": self.owner, "expires": expires}
            )
            return expires
        if lease["owner"] != self.owner and float(lease["expires"]) > now:
            return 0.0
        await uow.replace(self._collection, {**lease, "owner": self.owner, "expires": expires})
        return expires

    async def release(self) -> None:
        """Hand the lease back (a graceful stop): a replacement need not wait for it to run out."""
        if self._until <= time.time():
            return
        self._until = 0.0
        with contextlib.suppress(Exception):  # best effort: it runs out anyway
            async with self._store.transaction() as uow:
                lease = await uow.get(self._collection, self._id)
                if lease is not None and lease["owner"] == self.owner:
                    await uow.replace(self._collection, {**lease, "expires": 0.0})
