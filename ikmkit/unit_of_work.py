"""The unit of work: one transaction, the service's repositories, the events recorded in it.

Every write of every service takes this one path (Cosmic Python's ``allocate``):

    async def verify(uow: RegistryUnit, cmd: VerifyEnterprise, caller: Caller) -> Enterprise:
        enterprise = await uow.enterprises.get(cmd.nib)
        access.authorize_verify(caller, enterprise)
        return await uow.enterprises.save(uow.collect(enterprise.verify(caller.subject, now)))

The domain returns ``Changed(state, events)``; the handler hands it to ``uow.collect``, which
keeps the events and gives back the state. ``Units.run`` opens the unit of work, runs the
handler, writes the collected events to the outbox in the same transaction, commits, and runs
the whole thing again when it lost an optimistic-concurrency race. Handlers hold no
transaction, retry or publishing code; event consumers get the same unit of work from
``ikmkit.messaging.consumer`` (which adds the inbox record to it).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Concatenate

from contracts.base import Event
from ikmkit.clock import Clock, system_clock
from ikmkit.messaging.outbox import Outbox, stream_id
from ikmkit.store import RETRYABLE, Store, Transaction

RETRY_ATTRIBUTE = "__ikm_conflict_retry__"


@dataclass(frozen=True)
class Changed[T]:
    """What a domain operation returns: the aggregate's new state and the events it caused."""

    state: T
    events: tuple[Event, ...] = ()


class UnitOfWork:
    """A transaction and the events recorded during it. A service subclasses it to add its
    repositories (built on ``self.tx`` in ``__init__``), so handlers reach them by name."""

    def __init__(self, tx: Transaction) -> None:
        self.tx = tx
        self.now = system_clock()
        """When this unit of work runs: the one time its handler uses (set by ``Units``)."""
        self._events: list[Event] = []
        self._new: set[str] = set()
        self._after_commit: list[Callable[[], None]] = []

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once this unit of work has committed (not if it rolls back): wake
        whoever reads what it wrote (``Units`` wakes the outbox relay this way)."""
        self._after_commit.append(callback)

    def committed(self) -> None:
        """The transaction committed (called by ``Units``): run the ``after_commit`` callbacks."""
        callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:
            callback()

    def collect[T](self, changed: Changed[T], *, new: bool = False) -> T:
        """Keep the domain's events for the outbox; return the new state. ``new``: the
        aggregate did not exist before this unit of work (a registration that looked its NIB
        up and found none), so its events start their streams and the outbox does not read
        the streams' heads (one there after all fails the head's insert, ``DuplicateKey``:
        never a second chain)."""
        self._events.extend(changed.events)
        if new:
            self._new.update(stream_id(e) for e in changed.events)
        return changed.state

    def record(self, *events: Event) -> None:
        self._events.extend(events)

    def take_events(self) -> list[Event]:
        events, self._events = self._events, []
        return events

    def take_new(self) -> frozenset[str]:
        """The streams of the aggregates ``collect`` was told are new (see there)."""
        new, self._new = frozenset(self._new), set()
        return new


@dataclass(frozen=True)
class ConflictRetry:
    """How often a unit of work that lost a race runs again (jittered exponential backoff:
    some engines abort both sides of a write conflict, so the retries must not stay in step)."""

    max_attempts: int = 5
    base_delay: float = 0.002
    max_delay: float = 0.2
    retry_on: tuple[type[Exception], ...] = RETRYABLE

    async def run[T](self, attempt: Callable[[], Awaitable[T]]) -> T:
        for number in range(1, self.max_attempts + 1):
            try:
                return await attempt()
            except self.retry_on:
                if number == self.max_attempts:
                    raise
                ceiling = min(self.max_delay, self.base_delay * 2**number)
                await asyncio.sleep(random.uniform(0, ceiling))
        raise AssertionError("unreachable")


def contended[F: Callable[..., object]](
    max_attempts: int, *, also: tuple[type[Exception], ...] = ()
) -> Callable[[F], F]:
    """Mark a handler whose units of work are expected to race (a shared budget): ``Units.run``
    retries it up to ``max_attempts`` times, also on ``also`` (e.g. a unique key two racers
    both claim), instead of the default policy."""

    def mark(handler: F) -> F:
        setattr(handler, RETRY_ATTRIBUTE, ConflictRetry(max_attempts, retry_on=(*RETRYABLE, *also)))
        return handler

    return mark


@dataclass
class Units[U: UnitOfWork]:
    """Opens a service's units of work on its store and writes their events to its outbox."""

    store: Store
    outbox: Outbox
    make: Callable[[Transaction], U]
    clock: Clock = system_clock
    retry: ConflictRetry = field(default_factory=ConflictRetry)

    @asynccontextmanager
    async def open(self, *, read_only: bool = False) -> AsyncIterator[U]:
        """One transaction: committed, with its events in the outbox, if the block returns."""
        async with self.store.transaction(read_only=read_only) as tx:
            uow = self.make(tx)
            uow.now = self.clock()
            yield uow
            await self.flush(uow)
        # Committed: readers woken now find the writes (before the commit they would not,
        # and a poll interval later is latency).
        uow.committed()

    async def flush(self, uow: U) -> None:
        events = uow.take_events()
        if events:
            await self.outbox.add_many(uow.tx, events, new_streams=uow.take_new())
            uow.after_commit(self.outbox.committed)

    async def run[**P, T](
        self, handler: Callable[Concatenate[U, P], Awaitable[T]], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run a write handler in a unit of work, again if it lost a race."""

        async def once() -> T:
            # ``open`` spelled out: one async generator fewer on every write (~3 µs)
            async with self.store.transaction() as tx:
                uow = self.make(tx)
                uow.now = self.clock()
                result = await handler(uow, *args, **kwargs)
                await self.flush(uow)
            uow.committed()
            return result

        policy: ConflictRetry = getattr(handler, RETRY_ATTRIBUTE, self.retry)
        return await policy.run(once)

    async def read[**P, T](
        self, query: Callable[Concatenate[U, P], Awaitable[T]], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run a query in a unit of work (no events, nothing to retry)."""
        async with self.open(read_only=True) as uow:
            return await query(uow, *args, **kwargs)
