"""CountSnapshot: the day's counts per project, scanner, category, severity and status.

Trends are drawn from these rows rather than from the findings table, so a dashboard over a
million findings reads a few thousand pre-aggregated rows. Ingestion writes them explicitly.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, Category, FindingStatus, Severity, str_enum


class CountSnapshot(Base):
    __tablename__ = "count_snapshot"
    __table_args__ = (
        UniqueConstraint("project_id", "day", "scanner", "category", "severity", "status"),
        Index("ix_count_snapshot_day", "day"),
        # Covering index for the trend charts (migration 0006).
        Index("ix_count_snapshot_status_day", "status", "day", "scanner", "severity", "count"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    scanner: Mapped[str] = mapped_column(String(64))
    category: Mapped[Category] = mapped_column(str_enum(Category, "category"))
    severity: Mapped[Severity] = mapped_column(str_enum(Severity, "severity"))
    status: Mapped[FindingStatus] = mapped_column(str_enum(FindingStatus, "status"))
    count: Mapped[int] = mapped_column(Integer, default=0)
