"""dashboard indexes: range counts for the portfolio numbers and keyset pagination

Revision ID: 0006_dashboard_indexes
Revises: 0005_session_data
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006_dashboard_indexes"
down_revision: str | Sequence[str] | None = "0005_session_data"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FINDING_INDEXES = {
    "ix_finding_status_severity_category": ["status", "severity", "category"],
    "ix_finding_status_severity_sla_due_at": ["status", "severity", "sla_due_at"],
    "ix_finding_status_last_seen_id": ["status", "last_seen", "id"],
    "ix_finding_status_first_seen_id": ["status", "first_seen", "id"],
    "ix_finding_severity_fixed_at": ["severity", "fixed_at", "first_seen"],
    "ix_finding_first_seen_id": ["first_seen", "id"],
    "ix_finding_fixed_at": ["fixed_at"],
    # Analysts see a few projects: their figures start from the project id.
    "ix_finding_project_first_seen": ["project_id", "first_seen"],
    "ix_finding_project_fixed_at": ["project_id", "fixed_at", "severity", "first_seen"],
}


def upgrade() -> None:
    with op.batch_alter_table("finding", schema=None) as batch_op:
        for name, columns in FINDING_INDEXES.items():
            batch_op.create_index(name, columns, unique=False)
    with op.batch_alter_table("count_snapshot", schema=None) as batch_op:
        batch_op.create_index(
            "ix_count_snapshot_status_day",
            ["status", "day", "scanner", "severity", "count"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("count_snapshot", schema=None) as batch_op:
        batch_op.drop_index("ix_count_snapshot_status_day")
    with op.batch_alter_table("finding", schema=None) as batch_op:
        for name in reversed(list(FINDING_INDEXES)):
            batch_op.drop_index(name)
