"""finding.display_hash: skip rewriting findings a scan reports exactly as before

Revision ID: 0007_finding_display_hash
Revises: 0006_dashboard_indexes
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_finding_display_hash"
down_revision: str | Sequence[str] | None = "0006_dashboard_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("finding", schema=None) as batch_op:
        batch_op.add_column(sa.Column("display_hash", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("finding", schema=None) as batch_op:
        batch_op.drop_column("display_hash")
