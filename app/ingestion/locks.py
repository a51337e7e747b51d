"""One import per project at a time.

SQLite write transactions already serialize (``BEGIN IMMEDIATE`` takes the database lock before
the first statement). PostgreSQL runs them concurrently, so an import takes a transaction-scoped
advisory lock on its project: a second import of the same project waits until the first commits
or rolls back, and imports of different projects still run side by side.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

IMPORT_LOCK_NAMESPACE = 0x56494E47  # "VING"


def lock_project(session: Session, project_id: int) -> None:
    """Block until no other transaction imports into ``project_id``; released at commit/rollback."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(:ns, :pid)"), {"ns": IMPORT_LOCK_NAMESPACE, "pid": project_id}
        )
