"""The replay pauses the cyclic garbage collector while records stream through, and only then."""

from __future__ import annotations

import gc

import pytest

from ikmkit.collector import collector_paused as _collector_paused


def test_the_collector_is_paused_inside_and_restored_after() -> None:
    assert gc.isenabled()
    with _collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_the_collector_is_restored_when_the_replay_fails() -> None:
    with pytest.raises(RuntimeError), _collector_paused():
        raise RuntimeError("broker gone")
    assert gc.isenabled()


def test_a_collector_paused_by_the_caller_stays_paused() -> None:
    gc.disable()
    try:
        with _collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()
