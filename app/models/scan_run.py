"""ScanRun: one execution of one scanner (or one uploaded report) against one project."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, RunOutcome, RunStatus, RunTrigger, str_enum, utcnow


class ScanRun(Base):
    __tablename__ = "scan_run"
    __table_args__ = (
        # The same uploaded report (same bytes, same project, same scanner) is one run, never two.
        UniqueConstraint("project_id", "idempotency_key"),
        Index("ix_scan_run_project_scanner_queued", "project_id", "scanner", "queued_at"),
        Index("ix_scan_run_status", "status"),
        # Scan health: the newest run of each (project, scanner) is one seek (migration 0011).
        Index("ix_scan_run_project_scanner_id", "project_id", "scanner", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    scanner: Mapped[str] = mapped_column(String(64))
    trigger: Mapped[RunTrigger] = mapped_column(str_enum(RunTrigger, "trigger"), default=RunTrigger.MANUAL)
    status: Mapped[RunStatus] = mapped_column(str_enum(RunStatus, "status"), default=RunStatus.QUEUED)
    outcome: Mapped[RunOutcome | None] = mapped_column(str_enum(RunOutcome, "outcome"))
    # A failed, timed-out or partial run must never close findings; ingestion reads this flag.
    complete: Mapped[bool] = mapped_column(Boolean, default=False)
    tool_version: Mapped[str | None] = mapped_column(String(120))
    ruleset_version: Mapped[str | None] = mapped_column(String(120))
    commit_sha: Mapped[str | None] = mapped_column(String(64))
    report_format: Mapped[str | None] = mapped_column(String(64))
    report_sha256: Mapped[str | None] = mapped_column(String(64))
    idempotency_key: Mapped[str | None] = mapped_column(String(128))
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_key.id", ondelete="SET NULL"))
    job_id: Mapped[str | None] = mapped_column(String(64))
    worker_id: Mapped[str | None] = mapped_column(String(255))
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    queued_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    exit_code: Mapped[int | None] = mapped_column(Integer)
    stderr_tail: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    count_total: Mapped[int] = mapped_column(Integer, default=0)
    count_new: Mapped[int] = mapped_column(Integer, default=0)
    count_unchanged: Mapped[int] = mapped_column(Integer, default=0)
    count_reopened: Mapped[int] = mapped_column(Integer, default=0)
    count_fixed: Mapped[int] = mapped_column(Integer, default=0)
    count_suppressed: Mapped[int] = mapped_column(Integer, default=0)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
