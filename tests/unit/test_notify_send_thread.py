"""``SendThread``: work runs on the thread's own loop, its result or error comes back, and a
caller cancelled (the service stopping) returns only once the work has ended, so what the
work has done (sends made) is known to the caller."""

from __future__ import annotations

import asyncio
import threading

import pytest

from services.notify.send_loop import SendThread


async def test_work_runs_on_the_thread_and_its_result_and_errors_come_back() -> None:
    sending = SendThread()

    async def where() -> str:
        await asyncio.sleep(0)
        return threading.current_thread().name

    async def fails() -> None:
        raise LookupError("refused")

    try:
        assert await sending.run(where()) == "notify-send"
        with pytest.raises(LookupError, match="refused"):
            await sending.run(fails())
    finally:
        await sending.close()


async def test_a_cancelled_caller_waits_for_the_work_to_end() -> None:
    sending = SendThread()
    done: list[str] = []
    started = threading.Event()

    async def work() -> None:
        try:
            started.set()
            await asyncio.sleep(10)
        finally:
            await asyncio.sleep(0.2)  # e.g. a connection closed politely
            done.append("ended")

    caller = asyncio.create_task(sending.run(work()))
    await asyncio.to_thread(started.wait, 5)
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    assert done == ["ended"]
    await sending.close()


async def test_close_before_any_work_and_twice() -> None:
    sending = SendThread()
    await sending.close()
    assert await sending.run(asyncio.sleep(0, "ok")) == "ok"
    await sending.close()
    await sending.close()
