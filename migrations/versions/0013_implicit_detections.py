"""implicit detections: a finding's only detection row, by its own scanner and saying what the finding
says, is deleted; ingestion reads a finding without rows as detected by its own scanner alone

Revision ID: 0013_implicit_detections
Revises: 0012_indexes_without_last_seen
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_implicit_detections"
down_revision: str | Sequence[str] | None = "0012_indexes_without_last_seen"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

finding = sa.table(
    "finding",
    sa.column("id", sa.Integer),
    sa.column("scanner", sa.String),
    sa.column("tool_rule_id", sa.String),
    sa.column("status", sa.String),
    sa.column("first_run_id", sa.Integer),
    sa.column("last_run_id", sa.Integer),
    sa.column("first_seen", sa.DateTime),
    sa.column("last_seen", sa.DateTime),
)
detection = sa.table(
    "finding_detection",
    sa.column("finding_id", sa.Integer),
    sa.column("scanner", sa.String),
    sa.column("tool_rule_id", sa.String),
    sa.column("active", sa.Boolean),
    sa.column("first_run_id", sa.Integer),
    sa.column("last_run_id", sa.Integer),
    sa.column("first_seen", sa.DateTime),
    sa.column("last_seen", sa.DateTime),
)


def upgrade() -> None:
    """Only rows that add nothing go: the finding's single row, its own scanner and rule, the same
    runs, and active exactly when the finding is not fixed (what an implicit detection reads as)."""
    other = detection.alias("other")
    another_scanner = sa.exists().where(
        other.c.finding_id == detection.c.finding_id, other.c.scanner != detection.c.scanner
    )
    same = (
        sa.select(finding.c.id)
        .where(
            finding.c.id == detection.c.finding_id,
            finding.c.scanner == detection.c.scanner,
            finding.c.tool_rule_id == detection.c.tool_rule_id,
            finding.c.first_run_id.is_not_distinct_from(detection.c.first_run_id),
            finding.c.last_run_id.is_not_distinct_from(detection.c.last_run_id),
            sa.or_(
                sa.and_(finding.c.status != "fixed", detection.c.active.is_(True)),
                sa.and_(finding.c.status == "fixed", detection.c.active.is_(False)),
            ),
        )
        .exists()
    )
    op.execute(sa.delete(detection).where(same, ~another_scanner))


def downgrade() -> None:
    """Write the implicit detections back as rows (the schema before kept one per finding)."""
    has_rows = sa.exists().where(detection.c.finding_id == finding.c.id)
    implicit = sa.select(
        finding.c.id,
        finding.c.scanner,
        finding.c.tool_rule_id,
        finding.c.status != "fixed",
        finding.c.first_run_id,
        finding.c.last_run_id,
        finding.c.first_seen,
        finding.c.last_seen,
    ).where(~has_rows)
    columns = [
        "finding_id",
        "scanner",
        "tool_rule_id",
        "active",
        "first_run_id",
        "last_run_id",
        "first_seen",
        "last_seen",
    ]
    op.execute(sa.insert(detection).from_select(columns, implicit))
