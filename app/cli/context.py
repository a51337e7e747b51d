"""Shared helpers for CLI commands: settings, database and the console actor."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from sqlalchemy.orm import Session

from app.config import Settings, load_settings
from app.db import Database
from app.errors import VigilError
from app.migrate import is_up_to_date
from app.services.actor import Actor


@lru_cache(maxsize=1)
def settings() -> Settings:
    return load_settings()


@lru_cache(maxsize=1)
def database() -> Database:
    return Database(settings().database_url)


def console_actor() -> Actor:
    return Actor.cli()


def require_schema() -> None:
    if not is_up_to_date(settings().database_url):
        raise VigilError("the database schema is not up to date; run `vigil db upgrade` first")


@contextmanager
def transaction() -> Iterator[Session]:
    require_schema()
    with database().transaction() as session:
        yield session
