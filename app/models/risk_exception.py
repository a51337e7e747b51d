"""RiskException: an accepted risk with an owner, an approver who is not the requester, and an expiry."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, ExceptionScope, ExceptionState, Severity, str_enum, utcnow


class RiskException(Base):
    __tablename__ = "risk_exception"
    __table_args__ = (
        # Four eyes, enforced by the database as well as the service.
        CheckConstraint("decided_by_id IS NULL OR decided_by_id <> requested_by_id", name="four_eyes"),
        Index("ix_risk_exception_state_expires_at", "state", "expires_at"),
        Index("ix_risk_exception_project_id", "project_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[ExceptionScope] = mapped_column(str_enum(ExceptionScope, "scope"))
    # NULL project with an advisory or rule scope means "all projects".
    project_id: Mapped[int | None] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    finding_id: Mapped[int | None] = mapped_column(
        ForeignKey(
            "finding.id", ondelete="CASCADE", use_alter=True, name="fk_risk_exception_finding_id_finding"
        )
    )
    advisory_id: Mapped[str | None] = mapped_column(String(120))
    aliases: Mapped[list[str]] = mapped_column(default=list)
    package: Mapped[str | None] = mapped_column(String(255))
    rule_id: Mapped[str | None] = mapped_column(String(255))
    path_glob: Mapped[str | None] = mapped_column(String(1024))
    group_key: Mapped[str | None] = mapped_column(String(64), index=True)
    severity: Mapped[Severity | None] = mapped_column(str_enum(Severity, "severity"))
    justification: Mapped[str] = mapped_column(Text)
    mitigation: Mapped[str] = mapped_column(Text, default="")
    owner: Mapped[str] = mapped_column(String(255))
    ticket_url: Mapped[str | None] = mapped_column(String(1024))
    state: Mapped[ExceptionState] = mapped_column(
        str_enum(ExceptionState, "state"), default=ExceptionState.PENDING
    )
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="RESTRICT"))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="RESTRICT"))
    decided_at: Mapped[datetime | None]
    decision_comment: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[datetime]
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="RESTRICT"))
    revoked_at: Mapped[datetime | None]
    revoke_reason: Mapped[str | None] = mapped_column(Text)
    renews_id: Mapped[int | None] = mapped_column(ForeignKey("risk_exception.id", ondelete="SET NULL"))
    last_reminder_at: Mapped[datetime | None]
    needs_review: Mapped[bool] = mapped_column(default=False)
    review_reason: Mapped[str | None] = mapped_column(Text)
    scans_without_match: Mapped[int] = mapped_column(Integer, default=0)
    stale: Mapped[bool] = mapped_column(default=False)
    matched_count: Mapped[int] = mapped_column(Integer, default=0)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
