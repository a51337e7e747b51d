"""Project: one repository Vigil scans, and who may see it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, utcnow

DEFAULT_SCANNERS = ["bandit", "ruff", "semgrep", "detect-secrets", "osv"]
DEFAULT_SLA_DAYS = {"critical": 7, "high": 30, "medium": 90, "low": 180, "info": 365}


class Project(Base):
    __tablename__ = "project"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    # Exactly one of local_path / git_url is set; the service layer validates both.
    local_path: Mapped[str | None] = mapped_column(String(1024))
    git_url: Mapped[str | None] = mapped_column(String(1024))
    git_ref: Mapped[str | None] = mapped_column(String(255))
    dependency_files: Mapped[list[str]] = mapped_column(default=list)
    enabled_scanners: Mapped[list[str]] = mapped_column(default=lambda: list(DEFAULT_SCANNERS))
    exclude_paths: Mapped[list[str]] = mapped_column(default=list)
    schedule_cron: Mapped[str] = mapped_column(String(120), default="0 2 * * *")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    schedule_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    owners: Mapped[list[str]] = mapped_column(default=list)
    sla_days: Mapped[dict[str, Any]] = mapped_column(default=lambda: dict(DEFAULT_SLA_DAYS))
    # When false (default) scanners ignore the repository's own config files, so a committed
    # .bandit or ruff.toml cannot silently switch checks off.
    honour_repo_config: Mapped[bool] = mapped_column(Boolean, default=False)
    # When true, inline "# nosec" / "# noqa" / "nosemgrep" comments are ignored by the scanners.
    ignore_inline_suppressions: Mapped[bool] = mapped_column(Boolean, default=False)
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    last_scheduled_at: Mapped[datetime | None]


class ProjectMember(Base):
    """Team membership: analysts and viewers only see the projects they are members of."""

    __tablename__ = "project_member"

    project_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("project.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
