"""The clock every session, lockout and key-expiry decision reads.

Timeouts are security decisions (30 minutes idle, 12 hours absolute, a 15-minute lockout), and tests
must be able to prove them without sleeping: they move this clock instead of waiting.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from app.models.base import utcnow

_offset = timedelta(0)


def now() -> datetime:
    """The current aware UTC time, shifted by :func:`travel` (only tests shift it)."""
    return utcnow() + _offset


def travel(delta: timedelta) -> None:
    """Move the clock forward (or back) by ``delta``; cumulative until :func:`reset`."""
    global _offset
    _offset += delta


def reset() -> None:
    global _offset
    _offset = timedelta(0)
