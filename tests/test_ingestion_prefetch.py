"""The report reader thread: order kept, errors raised on the caller's thread, stops with the caller,
and the interpreter's switch interval restored when the last reader ends."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator

import pytest

from app.ingestion.prefetch import SWITCH_INTERVAL, Prefetched
from app.scanners.base import ReportError


def test_items_arrive_in_order_and_the_reader_ends() -> None:
    with Prefetched(iter(range(1000)), depth=2) as ahead:
        assert list(ahead) == list(range(1000))
    assert not any(t.name == "vigil-report-reader" for t in threading.enumerate())


def test_a_reader_error_is_raised_on_the_callers_thread_after_the_items_before_it() -> None:
    def broken() -> Iterator[int]:
        yield 1
        yield 2
        raise ReportError("sarif", "results[2] is not an object")

    seen: list[int] = []
    with pytest.raises(ReportError, match=r"results\[2\]"), Prefetched(broken()) as ahead:
        seen.extend(ahead)
    assert seen == [1, 2]


def test_a_caller_that_stops_early_stops_the_reader() -> None:
    produced: list[int] = []

    def endless() -> Iterator[int]:
        n = 0
        while True:
            produced.append(n)
            yield n
            n += 1

    with Prefetched(endless(), depth=1) as ahead:
        for item in ahead:
            if item == 3:
                break
    count = len(produced)
    assert count <= 6  # at most the queue's depth and one in hand beyond what was consumed
    assert not any(t.name == "vigil-report-reader" for t in threading.enumerate())
    assert len(produced) == count


def test_switch_interval_is_lowered_while_readers_run_and_restored_after_the_last() -> None:
    before = sys.getswitchinterval()
    outer = Prefetched(iter([1]))
    inner = Prefetched(iter([2]))
    with outer:
        assert sys.getswitchinterval() == pytest.approx(min(before, SWITCH_INTERVAL))
        with inner:
            assert list(inner) == [2]
        assert sys.getswitchinterval() == pytest.approx(min(before, SWITCH_INTERVAL))
        assert list(outer) == [1]
    assert sys.getswitchinterval() == pytest.approx(before)
