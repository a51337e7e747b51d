"""Exactly one active scheduler: a file lock on SQLite, an advisory lock on PostgreSQL.

Both locks die with their holder (the kernel drops an ``flock`` when the process exits, however it
exits; PostgreSQL drops a session advisory lock when the connection closes), so a standby that
polls ``try_acquire`` takes over after a crash without anyone cleaning up. Neither blocks: a
standby keeps polling and stays ready.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Protocol

from filelock import FileLock, Timeout
from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url

from app.db import Database

log = logging.getLogger("vigil.scheduler")
ADVISORY_KEY = 0x5647_5343  # "VGSC": one key per database (advisory locks are per database)


class SchedulerLock(Protocol):
    def try_acquire(self) -> bool: ...

    def still_held(self) -> bool: ...

    def release(self) -> None: ...


class FileSchedulerLock:
    """An ``flock`` on a file beside the SQLite database: every process of this install shares it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = FileLock(str(path), timeout=0, thread_local=False)

    def try_acquire(self) -> bool:
        if self._lock.is_locked:
            return True
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            return False
        return True

    def still_held(self) -> bool:
        return self._lock.is_locked

    def release(self) -> None:
        if self._lock.is_locked:
            self._lock.release(force=True)


class AdvisorySchedulerLock:
    """``pg_try_advisory_lock`` held on a dedicated connection for as long as this scheduler runs."""

    def __init__(self, database: Database, key: int = ADVISORY_KEY) -> None:
        self.database = database
        self.key = key
        self._conn: Connection | None = None
        # The lock loop and APScheduler's job threads both ask; one connection serves one at a time.
        self._mutex = threading.RLock()

    def try_acquire(self) -> bool:
        with self._mutex:
            return self._try_acquire()

    def _try_acquire(self) -> bool:
        if self._conn is not None and self._still_held():
            return True
        self._close()
        conn = self.database.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}).scalar())
        except Exception:
            conn.close()
            raise
        if not got:
            conn.close()
            return False
        self._conn = conn
        return True

    def still_held(self) -> bool:
        with self._mutex:
            return self._still_held()

    def _still_held(self) -> bool:
        if self._conn is None:
            return False
        try:
            held = self._conn.execute(
                text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                    "AND pid = pg_backend_pid() AND objid = :k"
                ),
                {"k": self.key & 0xFFFFFFFF},
            ).scalar()
        except Exception:  # a dead connection means the lock is gone
            log.warning("scheduler lock connection lost", exc_info=True)
            self._close()
            return False
        return bool(held)

    def release(self) -> None:
        with self._mutex:
            if self._conn is not None:
                try:
                    self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
                except Exception:  # closing the connection releases it anyway
                    log.debug("advisory unlock failed", exc_info=True)
            self._close()

    def _close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:  # already broken
                log.debug("closing the lock connection failed", exc_info=True)
            # Do not hand a possibly broken connection back to the pool.
            self._conn = None


def lock_for(database: Database, instance_path: Path) -> SchedulerLock:
    """The lock matching the database: PostgreSQL's advisory lock, else a file beside the SQLite file."""
    if database.engine.dialect.name == "postgresql":
        return AdvisorySchedulerLock(database)
    name = make_url(database.url).database
    if name and name != ":memory:":
        return FileSchedulerLock(Path(name).resolve().with_name(Path(name).name + ".scheduler.lock"))
    return FileSchedulerLock(instance_path / "scheduler.lock")
