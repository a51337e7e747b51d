"""How long a risk may be accepted: the per-severity expiry cap.

A critical weakness accepted "for a year" is a weakness nobody will look at again; the cap forces a
new decision (a renewal, approved again) at a pace that matches the risk. The cap is a setting
(``VIGIL_EXCEPTION_MAX_DAYS``) so each organisation can tune it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta

from app.errors import VigilError
from app.models.base import Severity

DEFAULT_MAX_DAYS: Mapping[Severity, int] = {
    Severity.CRITICAL: 30,
    Severity.HIGH: 90,
    Severity.MEDIUM: 180,
    Severity.LOW: 365,
    Severity.INFO: 365,
}


class ExceptionInputError(VigilError, ValueError):
    """A request for an exception that cannot be recorded as given; the message says why."""


def parse_expiry_date(raw: str | None) -> datetime | None:
    """A ``YYYY-MM-DD`` expiry as midnight UTC, so the form and the console read dates alike.

    None when empty (the policy then says a date is required, or sets the cap for imports)."""
    if raw is None or not raw.strip():
        return None
    try:
        day = datetime.strptime(raw.strip(), "%Y-%m-%d").date()
    except ValueError:
        raise ExceptionInputError(
            f"the expiry date must look like 2026-12-31, got {raw.strip()[:40]!r}"
        ) from None
    return datetime.combine(day, time(0, 0), tzinfo=UTC)


def parse_max_days(raw: str) -> dict[Severity, int]:
    """Parse ``critical=30,high=90,...``; severities not named keep the default."""
    caps = dict(DEFAULT_MAX_DAYS)
    for part in (p.strip() for p in raw.split(",")):
        if not part:
            continue
        name, sep, value = part.partition("=")
        try:
            severity = Severity(name.strip().lower())
            days = int(value.strip()) if sep else -1
        except ValueError:
            raise ExceptionInputError(
                f"bad exception expiry policy entry {part!r} (use severity=days)"
            ) from None
        if days < 1:
            raise ExceptionInputError(f"bad exception expiry policy entry {part!r} (days must be ≥ 1)")
        caps[severity] = days
    return caps


@dataclass(frozen=True)
class ExpiryPolicy:
    """The caps in force, plus the review window and the stale threshold that go with them."""

    max_days: Mapping[Severity, int] = field(default_factory=lambda: dict(DEFAULT_MAX_DAYS))
    review_days: int = 14
    stale_after_scans: int = 5

    @classmethod
    def from_settings(cls, settings: object) -> ExpiryPolicy:
        return cls(
            max_days=parse_max_days(str(getattr(settings, "exception_max_days", ""))),
            review_days=int(getattr(settings, "exception_review_days", 14)),
            stale_after_scans=int(getattr(settings, "exception_stale_scans", 5)),
        )

    def cap_for(self, severity: Severity | None) -> int:
        """The longest allowed duration; an unknown severity is treated as critical (safest)."""
        return self.max_days[severity or Severity.CRITICAL]

    def latest_expiry(self, severity: Severity | None, now: datetime) -> datetime:
        return now + timedelta(days=self.cap_for(severity))

    def check_expiry(self, expires_at: datetime | None, severity: Severity | None, now: datetime) -> datetime:
        """Refuse a missing, past or too-distant expiry with a message that names the limit."""
        if expires_at is None:
            raise ExceptionInputError("an expiry date is required")
        if expires_at.tzinfo is None:
            raise ExceptionInputError("the expiry date must carry a time zone")
        if expires_at <= now:
            raise ExceptionInputError("the expiry date must be in the future")
        latest = self.latest_expiry(severity, now)
        if expires_at > latest:
            label = severity.value if severity else "unknown-severity"
            raise ExceptionInputError(
                f"{label} risks may be accepted for at most {self.cap_for(severity)} days "
                f"(until {latest.date().isoformat()})"
            )
        return expires_at
