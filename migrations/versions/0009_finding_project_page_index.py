"""finding project page index: an analyst's findings pages read from the index alone

Revision ID: 0009_finding_project_page_index
Revises: 0008_finding_path_index
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0009_finding_project_page_index"
down_revision: str | Sequence[str] | None = "0008_finding_path_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("finding", schema=None) as batch_op:
        batch_op.create_index(
            "ix_finding_project_status_severity_last_seen",
            ["project_id", "status", "severity", "last_seen", "id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("finding", schema=None) as batch_op:
        batch_op.drop_index("ix_finding_project_status_severity_last_seen")
