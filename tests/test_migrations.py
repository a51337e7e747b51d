"""``upgrade head`` gives exactly the models' schema, and ``downgrade base`` removes it, on every backend."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from app.db import make_engine
from app.migrate import downgrade, upgrade
from app.models import Base


def test_upgrade_matches_models_and_downgrade_empties(database_url: str) -> None:
    # database_url is already migrated to head from the template: compare with the models.
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(
                MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata
            )
        assert diff == []
        downgrade(database_url, "base")
        remaining = set(inspect(engine).get_table_names()) - {"alembic_version"}
        assert remaining == set()
        upgrade(database_url)
        assert set(Base.metadata.tables) <= set(inspect(make_engine(database_url)).get_table_names())
    finally:
        engine.dispose()
