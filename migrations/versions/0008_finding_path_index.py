"""finding browser indexes: path prefix as an index range, rule filter in page order, analysts' counts

Revision ID: 0008_finding_path_index
Revises: 0007_finding_display_hash
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0008_finding_path_index"
down_revision: str | Sequence[str] | None = "0007_finding_display_hash"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("finding", schema=None) as batch_op:
        batch_op.create_index("ix_finding_path_status", ["path", "status"], unique=False)
        batch_op.create_index(
            "ix_finding_rule_status_last_seen", ["rule_id", "status", "last_seen", "id"], unique=False
        )
        # Covers an analyst's open counts by severity/category and SLA (no table lookups).
        batch_op.create_index(
            "ix_finding_project_status_severity_category",
            ["project_id", "status", "severity", "category", "sla_due_at"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("finding", schema=None) as batch_op:
        batch_op.drop_index("ix_finding_project_status_severity_category")
        batch_op.drop_index("ix_finding_rule_status_last_seen")
        batch_op.drop_index("ix_finding_path_status")
