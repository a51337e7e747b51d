"""Running queued scans: the embedded thread pool or RQ workers, both through ``execute_run``.

:func:`dispatcher` is what callers pass to ``scans.queue_scans``: with ``VIGIL_REDIS_URL`` set the
runs go to the RQ queue; otherwise the embedded pool of this process (if any) is woken, and every
pool polls the database anyway, so a run queued elsewhere is never lost.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from app.config import Settings
from app.services.scans import Dispatcher

log = logging.getLogger("vigil.execution")
_local_wakers: list[Dispatcher] = []


def register_local_pool(waker: Dispatcher) -> None:
    """The embedded pool of this process: woken when a run is queued here."""
    _local_wakers.append(waker)


def dispatcher(settings: Settings) -> Dispatcher:
    def dispatch(run_ids: Sequence[int]) -> None:
        if settings.redis_url:
            from app.execution import rq_queue

            try:
                rq_queue.enqueue(settings, run_ids)
            except Exception:  # runs stay queued; the scheduler re-dispatches them
                log.warning("could not put runs %s on the RQ queue", list(run_ids), exc_info=True)
            return
        for wake in _local_wakers:
            wake(run_ids)

    return dispatch
