"""totp secret sealed: app_user.totp_secret (clear base32) becomes totp_secret_sealed (AES-GCM)

The seeds are sealed with the key of ``app.security.secret_box``: the one handed over by the caller
(``vigil db upgrade`` and ``vigil serve`` pass their settings' key), otherwise the one the
``VIGIL_*`` environment gives. Downgrading opens them again and refuses (changing nothing) when the
key does not match. A new column rather than a wider one: SQLite would have to rebuild ``app_user``,
which every other table references.

Revision ID: 0010_totp_secret_sealed
Revises: 0009_finding_project_page_index
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import context, op

from app.config import load_settings
from app.security.secret_box import SecretBox

revision: str = "0010_totp_secret_sealed"
down_revision: str | Sequence[str] | None = "0009_finding_project_page_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

USERS = sa.table(
    "app_user",
    sa.column("id", sa.Integer),
    sa.column("totp_secret", sa.String),
    sa.column("totp_secret_sealed", sa.String),
)


def _box() -> SecretBox:
    given = context.config.attributes.get("secret_box")
    return given if isinstance(given, SecretBox) else SecretBox.from_settings(load_settings())


def _copy(source: str, target: str, convert: Callable[[SecretBox, str, int], str]) -> None:
    """Convert every stored seed from one column into the other (the key is only read if there are any)."""
    bind = op.get_bind()
    rows = bind.execute(sa.select(USERS.c.id, USERS.c[source]).where(USERS.c[source].is_not(None))).all()
    if not rows:
        return
    box = _box()
    for user_id, value in rows:
        bind.execute(
            USERS.update().where(USERS.c.id == user_id).values({target: convert(box, value, user_id)})
        )


def upgrade() -> None:
    op.add_column("app_user", sa.Column("totp_secret_sealed", sa.String(length=255), nullable=True))
    _copy("totp_secret", "totp_secret_sealed", SecretBox.seal)
    op.drop_column("app_user", "totp_secret")


def downgrade() -> None:
    op.add_column("app_user", sa.Column("totp_secret", sa.String(length=64), nullable=True))
    _copy("totp_secret_sealed", "totp_secret", SecretBox.open)
    op.drop_column("app_user", "totp_secret_sealed")
