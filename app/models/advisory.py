"""The offline advisory store and each project's dependency inventory.

``advisory`` holds one row per OSV record (only the PyPI parts Vigil matches on), ``advisory_package``
indexes records by PEP 503 package name so one project's scan loads only the advisories it can hit,
and ``advisory_import`` records every import: its time and the newest ``modified`` it saw are the
store's version and age that scan health reports. ``dependency_inventory`` is one reading of a
project's dependency files by one scan; its ``dependency`` rows are what re-evaluation re-matches
when the store changes, without touching the repository.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, utcnow


class Advisory(Base):
    __tablename__ = "advisory"

    id: Mapped[int] = mapped_column(primary_key=True)
    osv_id: Mapped[str] = mapped_column(String(120), unique=True)
    aliases: Mapped[list[str]] = mapped_column(default=list)
    modified: Mapped[datetime]
    published: Mapped[datetime | None]
    withdrawn: Mapped[datetime | None]
    summary: Mapped[str] = mapped_column(Text, default="")
    severity: Mapped[str | None] = mapped_column(String(16))
    severity_source: Mapped[str] = mapped_column(String(32), default="default")
    # [{"name": canonical, "ranges": [[[event, version], ...], ...], "versions": [...]}]
    affected: Mapped[list[Any]] = mapped_column(JSON, default=list)
    fixed_versions: Mapped[list[str]] = mapped_column(default=list)
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)
    import_id: Mapped[int | None] = mapped_column(
        ForeignKey("advisory_import.id", ondelete="SET NULL"), index=True
    )


class AdvisoryPackage(Base):
    __tablename__ = "advisory_package"

    advisory_id: Mapped[int] = mapped_column(ForeignKey("advisory.id", ondelete="CASCADE"), primary_key=True)
    package: Mapped[str] = mapped_column(String(255), primary_key=True, index=True)


class AdvisoryImport(Base):
    __tablename__ = "advisory_import"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    source: Mapped[str] = mapped_column(String(1024))
    source_sha256: Mapped[str | None] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(255), default="system")
    records_seen: Mapped[int] = mapped_column(Integer, default=0)
    added: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    withdrawn: Mapped[int] = mapped_column(Integer, default=0)
    ignored: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    newest_modified: Mapped[datetime | None]
    problems: Mapped[list[str]] = mapped_column(default=list)


class DependencyInventory(Base):
    __tablename__ = "dependency_inventory"
    __table_args__ = (Index("ix_dependency_inventory_project_id_id", "project_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    scan_run_id: Mapped[int | None] = mapped_column(
        ForeignKey("scan_run.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    files: Mapped[list[str]] = mapped_column(default=list)
    problems: Mapped[list[str]] = mapped_column(default=list)
    dependency_count: Mapped[int] = mapped_column(Integer, default=0)


class InventoryDependency(Base):
    __tablename__ = "dependency"

    id: Mapped[int] = mapped_column(primary_key=True)
    inventory_id: Mapped[int] = mapped_column(
        ForeignKey("dependency_inventory.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(255), index=True)
    version: Mapped[str | None] = mapped_column(String(120))
    specifier: Mapped[str] = mapped_column(Text, default="")
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)
    direct: Mapped[bool | None] = mapped_column(Boolean)
    dev: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str] = mapped_column(String(1024))
    line: Mapped[int | None] = mapped_column(Integer)
    markers: Mapped[str | None] = mapped_column(Text)
    extras: Mapped[list[str]] = mapped_column(default=list)
    group_name: Mapped[str | None] = mapped_column(String(120))
    note: Mapped[str | None] = mapped_column(String(32))
