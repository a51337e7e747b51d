"""The embedded worker pool: a few threads in the ``vigil serve`` process consuming queued runs.

It reads the queue from the database itself (queued ``ScanRun`` rows, oldest first), so a run
queued by another process (``vigil scan``, the scheduler) is picked up within ``poll_seconds``,
and :meth:`WorkerPool.notify` wakes it at once for runs queued in-process. Concurrency is bounded
by ``Settings.worker_threads``; each run goes through :func:`execute_run`, like an RQ job would.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor

from app.config import Settings
from app.db import Database
from app.execution.executor import execute_run
from app.services import scans

log = logging.getLogger("vigil.execution")
POLL_SECONDS = 2.0


class WorkerPool:
    def __init__(self, database: Database, settings: Settings, *, poll_seconds: float = POLL_SECONDS) -> None:
        self.database = database
        self.settings = settings
        self.size = max(1, settings.worker_threads)
        self.poll_seconds = poll_seconds
        self._executor = ThreadPoolExecutor(max_workers=self.size, thread_name_prefix="vigil-scan")
        self._inflight: dict[int, threading.Event] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="vigil-pool", daemon=True)

    def start(self) -> WorkerPool:
        self._thread.start()
        return self

    def notify(self, _run_ids: Sequence[int] = ()) -> None:
        """Wake the pool now (used as the dispatcher for runs queued in this process)."""
        self._wake.set()

    @property
    def busy(self) -> int:
        with self._lock:
            return len(self._inflight)

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self.fill()
            except Exception:  # a database hiccup must not kill the pool
                log.warning("worker pool could not read the queue", exc_info=True)
            self._wake.wait(self.poll_seconds)
            self._wake.clear()

    def fill(self) -> list[int]:
        """Start as many queued runs as there are free threads; return the ids started."""
        with self._lock:
            free = self.size - len(self._inflight)
            inflight = list(self._inflight)
        if free <= 0:
            return []
        with self.database.reader() as session:
            candidates = scans.queued_run_ids(session, free, exclude=inflight)
        started = []
        for run_id in candidates:
            cancel = threading.Event()
            with self._lock:
                if run_id in self._inflight:
                    continue
                self._inflight[run_id] = cancel
            future = self._executor.submit(self._run, run_id, cancel)
            future.add_done_callback(functools.partial(self._done, run_id))
            started.append(run_id)
        return started

    def _run(self, run_id: int, cancel: threading.Event) -> None:
        execute_run(self.database, run_id, settings=self.settings, cancel=cancel)

    def _done(self, run_id: int, future: Future[None]) -> None:
        with self._lock:
            self._inflight.pop(run_id, None)
        # A run still waiting for a thread when the pool shuts down is cancelled before it was
        # claimed: it stays queued in the database for the next pool, and has no exception to ask.
        if not future.cancelled() and future.exception() is not None:
            log.error("scan run %s crashed in the pool", run_id, exc_info=future.exception())
        self._wake.set()

    def stop(self, *, cancel_running: bool = False, timeout: float = 30.0) -> None:
        """Stop taking runs; optionally kill the running tools (their runs end cancelled)."""
        self._stopping.set()
        self._wake.set()
        if cancel_running:
            with self._lock:
                for event in self._inflight.values():
                    event.set()
        if self._thread.is_alive():
            self._thread.join(timeout=timeout)
        self._executor.shutdown(wait=True, cancel_futures=True)
