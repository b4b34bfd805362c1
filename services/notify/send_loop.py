"""Where the dispatcher's conversations with mail servers and webhook receivers run.

The service's event loop also runs the consumer, whose batches (SQLite on the loop) hold it
for a hundred milliseconds and more while a backlog is read. Every SMTP round trip waiting
for that loop went out behind a batch: at the 1.6 million run e-mails left at 15-50 a second
while notify's consumer caught up, against 300-550 after. ``SendThread`` runs the sends of a
whole batch on a thread with an event loop of its own, so a reply is read when it arrives
(the consumer's Python releases the GIL every few milliseconds, SQLite and sockets while
they wait); the service's loop takes part once per batch, not once per round trip.

``InPlace`` runs them on the caller's loop: for fake senders built on that loop's
primitives, in unit tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine
from typing import Any, Protocol, TypeVar

T = TypeVar("T")


class SendLoop(Protocol):
    async def run(self, work: Coroutine[Any, Any, T]) -> T:
        """``work``'s result; cancelling the caller cancels ``work`` and returns once it ended."""
        ...

    async def close(self) -> None: ...


class InPlace:
    async def run(self, work: Coroutine[Any, Any, T]) -> T:
        return await work

    async def close(self) -> None:
        pass


class SendThread:
    """A daemon thread running an event loop; started on first use."""

    def __init__(self, name: str = "notify-send") -> None:
        self._name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def _started(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
            self._thread = threading.Thread(
                target=self._loop.run_forever, name=self._name, daemon=True
            )
            self._thread.start()
        return self._loop

    async def run(self, work: Coroutine[Any, Any, T]) -> T:
        loop, here = self._started(), asyncio.get_running_loop()
        ended: asyncio.Future[T] = here.create_future()
        task: list[asyncio.Task[T]] = []

        def start() -> None:
            task.append(loop.create_task(work))
            task[0].add_done_callback(lambda t: here.call_soon_threadsafe(_settle, ended, t))

        loop.call_soon_threadsafe(start)
        try:
            return await asyncio.shield(ended)
        except asyncio.CancelledError:

            def cancel() -> None:  # the thread's callbacks run in order: after ``start``
                task[0].cancel()

            loop.call_soon_threadsafe(cancel)
            while not ended.done():  # what was sent is in ``work``'s results: wait for them
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.shield(ended)
            raise

    async def close(self) -> None:
        """Stop the loop once what runs on it ends (after the senders were closed on it)."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        self._loop = self._thread = None
        loop.call_soon_threadsafe(loop.stop)
        await asyncio.to_thread(thread.join)
        loop.close()


def _settle[R](ended: asyncio.Future[R], task: asyncio.Task[R]) -> None:
    if ended.done():
        return
    if task.cancelled():
        ended.cancel()
    elif (error := task.exception()) is not None:
        ended.set_exception(error)
    else:
        ended.set_result(task.result())
