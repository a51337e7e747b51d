"""Finding: the one living record of a weakness, its detections and its status history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, Category, FindingStatus, Severity, str_enum, utcnow


def _not_null(column: str) -> dict[str, Any]:
    """A partial index's condition on both dialects: only rows where ``column`` has a value."""
    condition = text(f"{column} IS NOT NULL")
    return {"sqlite_where": condition, "postgresql_where": condition}


class Finding(Base):
    __tablename__ = "finding"
    __table_args__ = (
        UniqueConstraint("project_id", "fingerprint"),
        # The findings list's filters and cursor pagination (newest first, id as tie-breaker). No
        # index holds ``last_seen``: every rescan moves it on every finding it reports, and each index
        # holding it would turn that one-column update into an index rewrite (migration 0012).
        Index("ix_finding_status_severity_first_seen", "status", "severity", "first_seen", "id"),
        Index("ix_finding_scanner_status", "scanner", "status"),
        # Dashboard numbers are range counts over these (migration 0006); see app/metrics/queries.py.
        Index("ix_finding_status_severity_category", "status", "severity", "category"),
        Index("ix_finding_status_severity_sla_due_at", "status", "severity", "sla_due_at"),
        Index("ix_finding_status_first_seen_id", "status", "first_seen", "id"),
        Index("ix_finding_first_seen_id", "first_seen", "id"),
        Index("ix_finding_project_first_seen", "project_id", "first_seen"),
        # Partial: only accepted and fixed findings have these, and every query on them names a value
        # (``= ?``, ``>= ?``), which implies IS NOT NULL. An import of new open findings skips them.
        Index("ix_finding_exception_id", "exception_id", **_not_null("exception_id")),
        Index("ix_finding_fixed_at", "fixed_at", **_not_null("fixed_at")),
        Index("ix_finding_severity_fixed_at", "severity", "fixed_at", "first_seen", **_not_null("fixed_at")),
        Index(
            "ix_finding_project_fixed_at",
            "project_id",
            "fixed_at",
            "severity",
            "first_seen",
            **_not_null("fixed_at"),
        ),
        # Migration 0008: "path starts with", the rule filter in page order (also every lookup by
        # rule id), analysts' counts.
        Index("ix_finding_path_status", "path", "status"),
        Index("ix_finding_rule_status_first_seen", "rule_id", "status", "first_seen", "id"),
        # Migration 0011: everything a few projects' findings are filtered, counted and paged by,
        # so an analyst's list and dashboard read this index alone, never the rows (the findings
        # service names it for project-scoped queries on SQLite).
        Index(
            "ix_finding_project_browse",
            "project_id",
            "status",
            "severity",
            "first_seen",
            "id",
            "category",
            "scanner",
            "rule_id",
            "sla_due_at",
            "path",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    fingerprint: Mapped[str] = mapped_column(String(64))
    scanner: Mapped[str] = mapped_column(String(64))
    rule_id: Mapped[str] = mapped_column(String(255))
    tool_rule_id: Mapped[str] = mapped_column(String(255))
    category: Mapped[Category] = mapped_column(str_enum(Category, "category"))
    severity: Mapped[Severity] = mapped_column(str_enum(Severity, "severity"))
    confidence: Mapped[str | None] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(500))
    message: Mapped[str] = mapped_column(Text, default="")
    path: Mapped[str | None] = mapped_column(String(1024))
    line: Mapped[int | None] = mapped_column(Integer)
    column: Mapped[int | None] = mapped_column(Integer)
    snippet: Mapped[str | None] = mapped_column(Text)
    cwe: Mapped[list[int]] = mapped_column(default=list)
    advisory_ids: Mapped[list[str]] = mapped_column(default=list)
    package: Mapped[str | None] = mapped_column(String(255))
    installed_version: Mapped[str | None] = mapped_column(String(120))
    fixed_versions: Mapped[list[str]] = mapped_column(default=list)
    status: Mapped[FindingStatus] = mapped_column(
        str_enum(FindingStatus, "status"), default=FindingStatus.OPEN
    )
    first_seen: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(default=utcnow)
    fixed_at: Mapped[datetime | None]
    status_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    sla_due_at: Mapped[datetime | None]
    # While an exception is active the SLA clock pauses; the paused time is added back on expiry.
    sla_paused_at: Mapped[datetime | None]
    exception_id: Mapped[int | None] = mapped_column(ForeignKey("risk_exception.id", ondelete="SET NULL"))
    first_run_id: Mapped[int | None] = mapped_column(ForeignKey("scan_run.id", ondelete="SET NULL"))
    last_run_id: Mapped[int | None] = mapped_column(ForeignKey("scan_run.id", ondelete="SET NULL"))
    origin: Mapped[str] = mapped_column(String(32), default="code")
    extras: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Digest of what a report says about the finding (message, line, severity, ...): a nightly scan
    # that reports it unchanged only moves last_seen instead of rewriting the row (migration 0007).
    display_hash: Mapped[str | None] = mapped_column(String(32))


class FindingDetection(Base):
    """Which scanner saw a finding, and in which runs: several tools may report one canonical finding.

    A successful run of scanner X closes a finding only when no other scanner still reports it.
    """

    __tablename__ = "finding_detection"

    finding_id: Mapped[int] = mapped_column(ForeignKey("finding.id", ondelete="CASCADE"), primary_key=True)
    scanner: Mapped[str] = mapped_column(String(64), primary_key=True)
    tool_rule_id: Mapped[str] = mapped_column(String(255))
    first_run_id: Mapped[int | None] = mapped_column(ForeignKey("scan_run.id", ondelete="SET NULL"))
    last_run_id: Mapped[int | None] = mapped_column(
        ForeignKey("scan_run.id", ondelete="SET NULL"), index=True
    )
    first_seen: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(default=utcnow)
    active: Mapped[bool] = mapped_column(default=True)


class FindingStatusHistory(Base):
    __tablename__ = "finding_status_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    finding_id: Mapped[int] = mapped_column(ForeignKey("finding.id", ondelete="CASCADE"), index=True)
    from_status: Mapped[FindingStatus | None] = mapped_column(str_enum(FindingStatus, "from_status"))
    to_status: Mapped[FindingStatus] = mapped_column(str_enum(FindingStatus, "to_status"))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(String(255), default="system")
    reason: Mapped[str] = mapped_column(Text, default="")
    scan_run_id: Mapped[int | None] = mapped_column(ForeignKey("scan_run.id", ondelete="SET NULL"))
    exception_id: Mapped[int | None] = mapped_column(ForeignKey("risk_exception.id", ondelete="SET NULL"))
