"""InlineSuppression: a ``# nosec`` / ``# noqa: S…`` / ``nosemgrep`` / ``pragma: allowlist secret`` comment.

Inline comments are exceptions nobody approved. Recording them per scan run (with path and line)
lets the project page show how many there are and whether the number grows.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, utcnow


class InlineSuppression(Base):
    __tablename__ = "inline_suppression"
    __table_args__ = (Index("ix_inline_suppression_project_recorded", "project_id", "recorded_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    scan_run_id: Mapped[int] = mapped_column(ForeignKey("scan_run.id", ondelete="CASCADE"), index=True)
    scanner: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    path: Mapped[str] = mapped_column(String(1024))
    line: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(String(500), default="")
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
