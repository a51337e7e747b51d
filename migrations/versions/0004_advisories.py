"""offline advisory store (OSV records, imports) and per-scan dependency inventories

Revision ID: 0004_advisories
Revises: 0003_stored_reports
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.models.base

revision: str = "0004_advisories"
down_revision: str | Sequence[str] | None = "0003_stored_reports"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "advisory_import",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("started_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("source", sa.String(length=1024), nullable=False),
        sa.Column("source_sha256", sa.String(length=64), nullable=True),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("records_seen", sa.Integer(), nullable=False),
        sa.Column("added", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("withdrawn", sa.Integer(), nullable=False),
        sa.Column("ignored", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("newest_modified", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("problems", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_advisory_import")),
    )
    op.create_table(
        "advisory",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("osv_id", sa.String(length=120), nullable=False),
        sa.Column("aliases", sa.JSON(), nullable=False),
        sa.Column("modified", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("published", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("withdrawn", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=True),
        sa.Column("severity_source", sa.String(length=32), nullable=False),
        sa.Column("affected", sa.JSON(), nullable=False),
        sa.Column("fixed_versions", sa.JSON(), nullable=False),
        sa.Column("imported_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["advisory_import.id"],
            name=op.f("fk_advisory_import_id_advisory_import"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_advisory")),
        sa.UniqueConstraint("osv_id", name=op.f("uq_advisory_osv_id")),
    )
    op.create_index("ix_advisory_import_id", "advisory", ["import_id"], unique=False)

    op.create_table(
        "advisory_package",
        sa.Column("advisory_id", sa.Integer(), nullable=False),
        sa.Column("package", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["advisory_id"],
            ["advisory.id"],
            name=op.f("fk_advisory_package_advisory_id_advisory"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("advisory_id", "package", name=op.f("pk_advisory_package")),
    )
    op.create_index("ix_advisory_package_package", "advisory_package", ["package"], unique=False)

    op.create_table(
        "dependency_inventory",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("scan_run_id", sa.Integer(), nullable=True),
        sa.Column("created_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("problems", sa.JSON(), nullable=False),
        sa.Column("dependency_count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["project.id"],
            name=op.f("fk_dependency_inventory_project_id_project"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["scan_run_id"],
            ["scan_run.id"],
            name=op.f("fk_dependency_inventory_scan_run_id_scan_run"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dependency_inventory")),
    )
    op.create_index(
        "ix_dependency_inventory_project_id_id", "dependency_inventory", ["project_id", "id"], unique=False
    )
    op.create_index(
        "ix_dependency_inventory_scan_run_id", "dependency_inventory", ["scan_run_id"], unique=False
    )

    op.create_table(
        "dependency",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("inventory_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("version", sa.String(length=120), nullable=True),
        sa.Column("specifier", sa.Text(), nullable=False),
        sa.Column("pinned", sa.Boolean(), nullable=False),
        sa.Column("direct", sa.Boolean(), nullable=True),
        sa.Column("dev", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=1024), nullable=False),
        sa.Column("line", sa.Integer(), nullable=True),
        sa.Column("markers", sa.Text(), nullable=True),
        sa.Column("extras", sa.JSON(), nullable=False),
        sa.Column("group_name", sa.String(length=120), nullable=True),
        sa.Column("note", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["inventory_id"],
            ["dependency_inventory.id"],
            name=op.f("fk_dependency_inventory_id_dependency_inventory"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dependency")),
    )
    op.create_index("ix_dependency_inventory_id", "dependency", ["inventory_id"], unique=False)
    op.create_index("ix_dependency_name", "dependency", ["name"], unique=False)


def downgrade() -> None:
    op.drop_table("dependency")
    op.drop_table("dependency_inventory")
    op.drop_table("advisory_package")
    op.drop_table("advisory")
    op.drop_table("advisory_import")
