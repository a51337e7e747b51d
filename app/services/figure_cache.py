"""A small in-process cache for dashboard figures, invalidated by any audited change.

Computing the portfolio figures over a million findings costs tens of milliseconds of database
work per request; they change only when something is written, and every write that moves them
(a scan finishing, an import, a triage, an exception decision) appends to the audit log. So the
newest audit id that is not about sign-ins, sessions or downloads is a cheap, exact version
number (a few primary-key steps): a cached entry is used only while it is unchanged, and for at
most ``ttl_seconds``. Callers keep clock-driven figures out of the cached value or in its key.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import AuditEvent

T = TypeVar("T")


# Audit events about objects that hold no findings, runs or snapshots: sign-ins, sessions, API
# keys, refused routes, report downloads and scan-health flags. They are most of the audit log
# during a working day, and none of them moves a dashboard figure. Any other object type,
# including one added later, counts as a change.
UNRELATED_OBJECTS = ("user", "session", "api_key", "route", "report", "scan_health")


def data_version(session: Session, status_only: tuple[str, ...] = ()) -> tuple[str, int]:
    """Which database, and the newest audit event in it that may have changed a figure.

    Read newest first by primary key, it stops at the first such event: a handful of rows, or
    the sign-ins and downloads since the last scan, import or triage. Figures that no status
    change can move pass the object types of status changes as ``status_only``.
    """
    newest = session.scalar(
        select(AuditEvent.id)
        .where(func.coalesce(AuditEvent.object_type, "").not_in(UNRELATED_OBJECTS + status_only))
        .order_by(AuditEvent.id.desc())
        .limit(1)
    )
    return (session.get_bind().engine.url.render_as_string(hide_password=True), int(newest or 0))


class FigureCache(Generic[T]):
    def __init__(self, ttl_seconds: float = 60.0, max_entries: int = 256) -> None:
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self._entries: OrderedDict[Hashable, tuple[Any, float, T]] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_compute(self, key: Hashable, version: Any, compute: Callable[[], T]) -> tuple[T, bool]:
        """The cached value for ``key`` at ``version``, or a fresh one; the flag says if it was cached."""
        now = time.monotonic()
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[0] == version and now - entry[1] < self.ttl_seconds:
                self._entries.move_to_end(key)
                return entry[2], True
        value = compute()
        with self._lock:
            self._entries[key] = (version, now, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return value, False

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
