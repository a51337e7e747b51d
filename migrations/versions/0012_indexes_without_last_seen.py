"""finding indexes without last_seen: a rescan's one-column update rewrites no index entry; the
list's recency order is first_seen; exception and fixed-date indexes hold only rows with a value

Revision ID: 0012_indexes_without_last_seen
Revises: 0011_project_browse_index
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_indexes_without_last_seen"
down_revision: str | Sequence[str] | None = "0011_project_browse_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_BROWSE = [
    "project_id",
    "status",
    "severity",
    "last_seen",
    "id",
    "category",
    "scanner",
    "rule_id",
    "first_seen",
    "sla_due_at",
    "path",
]
BROWSE = [
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
]
# (name, columns, partial on) of the indexes that become partial: only rows where the column is set.
PARTIAL = [
    ("ix_finding_exception_id", ["exception_id"], "exception_id"),
    ("ix_finding_fixed_at", ["fixed_at"], "fixed_at"),
    ("ix_finding_severity_fixed_at", ["severity", "fixed_at", "first_seen"], "fixed_at"),
    ("ix_finding_project_fixed_at", ["project_id", "fixed_at", "severity", "first_seen"], "fixed_at"),
]


def _where(column: str) -> dict[str, object]:
    condition = sa.text(f"{column} IS NOT NULL")
    return {"sqlite_where": condition, "postgresql_where": condition}


def upgrade() -> None:
    with op.batch_alter_table("finding", schema=None) as batch_op:
        batch_op.drop_index("ix_finding_last_seen_id")
        batch_op.drop_index("ix_finding_status_last_seen_id")
        batch_op.drop_index("ix_finding_status_severity_last_seen")
        batch_op.drop_index("ix_finding_rule_status_last_seen")
        # Its rule_id prefix is the leading column of ix_finding_rule_status_first_seen.
        batch_op.drop_index("ix_finding_rule_id")
        batch_op.drop_index("ix_finding_project_browse")
        for name, _columns, _column in PARTIAL:
            batch_op.drop_index(name)
    with op.batch_alter_table("finding", schema=None) as batch_op:
        batch_op.create_index(
            "ix_finding_status_severity_first_seen", ["status", "severity", "first_seen", "id"], unique=False
        )
        batch_op.create_index(
            "ix_finding_rule_status_first_seen", ["rule_id", "status", "first_seen", "id"], unique=False
        )
        batch_op.create_index("ix_finding_project_browse", BROWSE, unique=False)
        for name, columns, column in PARTIAL:
            batch_op.create_index(name, columns, unique=False, **_where(column))
    _refresh_statistics()


def _refresh_statistics() -> None:
    """On SQLite, give the new indexes statistics when the old ones had some: SQLite plans from
    ``sqlite_stat1``, and an index without a row there looks ten rows per key wide, so it would win
    over the index that delivers the page order (PostgreSQL plans from the table's own statistics)."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    has_stats = bind.execute(
        sa.text("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'")
    ).scalar()
    if has_stats:
        bind.execute(sa.text("ANALYZE finding"))


def downgrade() -> None:
    with op.batch_alter_table("finding", schema=None) as batch_op:
        batch_op.drop_index("ix_finding_status_severity_first_seen")
        batch_op.drop_index("ix_finding_rule_status_first_seen")
        batch_op.drop_index("ix_finding_project_browse")
        for name, _columns, _column in PARTIAL:
            batch_op.drop_index(name)
    with op.batch_alter_table("finding", schema=None) as batch_op:
        for name, columns, _column in PARTIAL:
            batch_op.create_index(name, columns, unique=False)
        batch_op.create_index("ix_finding_project_browse", OLD_BROWSE, unique=False)
        batch_op.create_index("ix_finding_rule_id", ["rule_id"], unique=False)
        batch_op.create_index(
            "ix_finding_rule_status_last_seen", ["rule_id", "status", "last_seen", "id"], unique=False
        )
        batch_op.create_index(
            "ix_finding_status_severity_last_seen", ["status", "severity", "last_seen", "id"], unique=False
        )
        batch_op.create_index("ix_finding_status_last_seen_id", ["status", "last_seen", "id"], unique=False)
        batch_op.create_index("ix_finding_last_seen_id", ["last_seen", "id"], unique=False)
