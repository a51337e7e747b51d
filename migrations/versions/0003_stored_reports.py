"""stored reports (monthly compliance reports kept for download)

Revision ID: 0003_stored_reports
Revises: 0002_exc_notify_inline
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.models.base

revision: str = "0003_stored_reports"
down_revision: str | Sequence[str] | None = "0002_exc_notify_inline"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "stored_report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("period", sa.String(length=32), nullable=False),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("media_type", sa.String(length=128), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stored_report")),
    )
    with op.batch_alter_table("stored_report", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stored_report_created_at"), ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("stored_report", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stored_report_created_at"))
    op.drop_table("stored_report")
