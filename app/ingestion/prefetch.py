"""Read and fingerprint the next chunk of a report while the database writes the current one.

Writing a chunk is mostly SQLite or PostgreSQL work, during which the driver releases the GIL; reading
the report and fingerprinting are Python. Run on a second thread, the reading fills that time: on two
cores a 100,000-result SARIF import spends most of its parsing while its inserts run. The reader never
touches the database, so the transaction stays on the caller's thread. A bounded queue keeps memory
at a few chunks; an error of the reader (a malformed report) is raised on the caller's thread, where
the transaction rolls back; a caller that stops early stops the reader.

While a reader runs, the interpreter switches threads every 0.5 ms instead of 5 ms: a thread coming
back from a database call waits for the GIL up to one interval, and with the default the writes
waited longer than the reading saved (measured: 100,000 results, first import 4.9 s without a reader
thread, 5.2 s with it at 5 ms, 4.2 s at 0.5 ms). The previous interval returns when the last reader
of the process ends.
"""

from __future__ import annotations

import queue
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import suppress
from typing import Generic, TypeVar

T = TypeVar("T")
_DONE = object()
_POLL_SECONDS = 0.1
SWITCH_INTERVAL = 0.0005
_switching = threading.Lock()
_readers = 0
_saved_interval = 0.0


def _reader_started() -> None:
    global _readers, _saved_interval
    with _switching:
        if _readers == 0:
            _saved_interval = sys.getswitchinterval()
            sys.setswitchinterval(min(_saved_interval, SWITCH_INTERVAL))
        _readers += 1


def _reader_ended() -> None:
    global _readers
    with _switching:
        _readers -= 1
        if _readers == 0:
            sys.setswitchinterval(_saved_interval)


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error


class Prefetched(Generic[T]):
    """Items of ``source`` produced on a reader thread, at most ``depth`` ahead of the consumer.

    ``waited`` is the time the consumer spent waiting for the reader: the part of reading that the
    writes did not hide.
    """

    def __init__(self, source: Iterable[T], depth: int = 1) -> None:
        self._source = source
        self._queue: queue.Queue[object] = queue.Queue(maxsize=max(1, depth))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, name="vigil-report-reader", daemon=True)
        self.waited = 0.0

    def __enter__(self) -> Prefetched[T]:
        _reader_started()
        try:
            self._thread.start()
        except BaseException:
            _reader_ended()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.close()
        finally:
            _reader_ended()

    def close(self) -> None:
        """Stop the reader (it notices within a poll interval) and wait for it to end."""
        self._stop.set()
        while self._thread.is_alive():
            with suppress(queue.Empty):  # make room, so a reader blocked on a full queue sees the stop
                self._queue.get_nowait()
            self._thread.join(_POLL_SECONDS)

    def __iter__(self) -> Iterator[T]:
        while True:
            started = time.perf_counter()
            item = self._queue.get()
            self.waited += time.perf_counter() - started
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item  # type: ignore[misc]

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def _read(self) -> None:
        try:
            for item in self._source:
                if not self._put(item):
                    return
        except BaseException as error:  # noqa: BLE001 - handed to the consumer, which raises it
            self._put(_Failure(error))
            return
        self._put(_DONE)
