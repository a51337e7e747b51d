"""SQLite's ``INDEXED BY`` through SQLAlchemy's table hints.

SQLAlchemy hands ``Select.with_hint(table, text, dialect_name="sqlite")`` to the dialect's
compiler, and its SQLite compiler drops table hints. Installing :func:`_from_hint_text` lets
``INDEXED BY`` hints through (and nothing else), so a query can name the index SQLite must use.

Why a query would: SQLite's planner prefers an index that delivers the ORDER BY over one that
narrows the rows, and it plans from ``ANALYZE`` statistics that a fresh database does not have.
For a few projects' findings it then walks a global index in page order and reads table rows
until the page is full, hundreds of times slower than the project-led covering index. PostgreSQL
plans these queries well and never sees the hint.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Select
from sqlalchemy.dialects.sqlite.base import SQLiteCompiler

PREFIX = "INDEXED BY "
S = TypeVar("S", bound=Select[Any])


def _from_hint_text(self: SQLiteCompiler, table: Any, text: str | None) -> str | None:
    return text if text is not None and text.startswith(PREFIX) else None


SQLiteCompiler.get_from_hint_text = _from_hint_text  # type: ignore[method-assign,assignment]


def indexed_by(stmt: S, table: Any, index_name: str) -> S:
    """``stmt`` reading ``table`` through ``index_name`` on SQLite (unchanged elsewhere)."""
    return stmt.with_hint(table, PREFIX + index_name, dialect_name="sqlite")
