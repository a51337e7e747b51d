"""Declarative base, shared column types and enums for every model.

Timestamps are stored and returned as timezone-aware UTC on both SQLite (which has no time zone
type) and PostgreSQL, so comparisons between "now" and stored values never mix naive and aware.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, MetaData, String, TypeDecorator
from sqlalchemy import Enum as SAEnum
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """The current time, timezone-aware UTC (the only kind Vigil stores)."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A DateTime that refuses naive values and always comes back as aware UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an aware UTC datetime is required")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def str_enum(enum_cls: type[enum.Enum], column: str, length: int = 32) -> SAEnum:
    """Store an enum by value as a VARCHAR with a CHECK constraint (portable, readable in SQL).

    ``column`` names the CHECK constraint, which must be unique per table.
    """
    return SAEnum(
        enum_cls,
        native_enum=False,
        create_constraint=True,
        length=length,
        values_callable=lambda cls: [member.value for member in cls],
        validate_strings=True,
        name=column,
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
        list[str]: JSON(),
        list[int]: JSON(),
        str: String(255),
    }


class Role(enum.StrEnum):
    ADMIN = "admin"
    APPROVER = "approver"
    ANALYST = "analyst"
    VIEWER = "viewer"


class Severity(enum.StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        """Higher is worse; used for thresholds such as the CI gate's ``fail_on``."""
        return SEVERITY_RANK[self]


SEVERITY_RANK = {
    Severity.INFO: 0,
    Severity.LOW: 1,
    Severity.MEDIUM: 2,
    Severity.HIGH: 3,
    Severity.CRITICAL: 4,
}


class Category(enum.StrEnum):
    SECURITY = "security"
    QUALITY = "quality"
    DEPENDENCY = "dependency"
    # A category name, not a credential: ruff, semgrep and detect-secrets all read one here.
    SECRET = "secret"  # noqa: S105  # nosemgrep: vigil-hardcoded-secret-key  # pragma: allowlist secret


class FindingStatus(enum.StrEnum):
    OPEN = "open"
    FIXED = "fixed"
    FALSE_POSITIVE = "false_positive"
    ACCEPTED = "accepted"


class RunStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self not in (RunStatus.QUEUED, RunStatus.RUNNING)


class RunOutcome(enum.StrEnum):
    """What a finished run found: never ``clean`` for a run that failed."""

    CLEAN = "clean"
    FINDINGS = "findings"
    FAILED = "failed"


class RunTrigger(enum.StrEnum):
    SCHEDULE = "schedule"
    MANUAL = "manual"
    API = "api"
    UPLOAD = "upload"
    ADVISORY = "advisory"


class ExceptionScope(enum.StrEnum):
    FINDING = "finding"
    ADVISORY = "advisory"
    RULE = "rule"


class ExceptionState(enum.StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    REJECTED = "rejected"
    REVOKED = "revoked"
    EXPIRED = "expired"


class ActorType(enum.StrEnum):
    USER = "user"
    API_KEY = "api_key"  # pragma: allowlist secret - an actor type name, not a key
    SYSTEM = "system"
