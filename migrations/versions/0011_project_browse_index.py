"""project browse index: a few projects' findings filtered and paged from one covering index;
the newest run of each (project, scanner) for scan health

Revision ID: 0011_project_browse_index
Revises: 0010_totp_secret_sealed
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0011_project_browse_index"
down_revision: str | Sequence[str] | None = "0010_totp_secret_sealed"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BROWSE = [
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


def upgrade() -> None:
    with op.batch_alter_table("finding", schema=None) as batch_op:
        # The new index starts with these three and holds every filter but free text, so they go.
        batch_op.drop_index("ix_finding_project_status_severity")
        batch_op.drop_index("ix_finding_project_status_severity_last_seen")
        batch_op.drop_index("ix_finding_project_status_severity_category")
        batch_op.create_index("ix_finding_project_browse", BROWSE, unique=False)
    with op.batch_alter_table("scan_run", schema=None) as batch_op:
        batch_op.create_index("ix_scan_run_project_scanner_id", ["project_id", "scanner", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("scan_run", schema=None) as batch_op:
        batch_op.drop_index("ix_scan_run_project_scanner_id")
    with op.batch_alter_table("finding", schema=None) as batch_op:
        batch_op.drop_index("ix_finding_project_browse")
        batch_op.create_index(
            "ix_finding_project_status_severity", ["project_id", "status", "severity"], unique=False
        )
        batch_op.create_index(
            "ix_finding_project_status_severity_category",
            ["project_id", "status", "severity", "category", "sla_due_at"],
            unique=False,
        )
        batch_op.create_index(
            "ix_finding_project_status_severity_last_seen",
            ["project_id", "status", "severity", "last_seen", "id"],
            unique=False,
        )
