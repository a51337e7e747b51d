"""Schema migrations through Alembic, driven from code (``vigil db ...`` and tests).

Migrations are never run inside ``create_app``: starting a web worker must not alter the schema.
``vigil serve`` (the embedded default) and ``vigil db upgrade`` call :func:`upgrade` explicitly.
"""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from app.config import ROOT
from app.db import make_engine, normalize_url
from app.security.secret_box import SecretBox


def alembic_config(database_url: str, secret_box: SecretBox | None = None) -> Config:
    """Alembic's configuration; ``secret_box`` is the key data migrations seal secrets with
    (without it they derive one from the ``VIGIL_*`` environment, only if they have secrets to convert)."""
    cfg = Config()
    if secret_box is not None:
        cfg.attributes["secret_box"] = secret_box
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    # ConfigParser interpolation: a literal % in a password must be doubled.
    cfg.set_main_option("sqlalchemy.url", normalize_url(database_url).replace("%", "%%"))
    return cfg


def upgrade(database_url: str, revision: str = "heads", *, secret_box: SecretBox | None = None) -> None:
    command.upgrade(alembic_config(database_url, secret_box), revision)


def downgrade(database_url: str, revision: str, *, secret_box: SecretBox | None = None) -> None:
    command.downgrade(alembic_config(database_url, secret_box), revision)


def current_revisions(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads())


def head_revisions(database_url: str) -> set[str]:
    return set(ScriptDirectory.from_config(alembic_config(database_url)).get_heads())


def is_up_to_date(database_url: str) -> bool:
    engine = make_engine(database_url)
    try:
        return current_revisions(engine) == head_revisions(database_url)
    finally:
        engine.dispose()
