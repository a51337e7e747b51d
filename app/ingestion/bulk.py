"""executemany of a Core statement, with SQLite's per-row overhead taken out.

SQLAlchemy processes every bound value of every row (type processors, parameter dictionaries),
which for an import of 100,000 findings costs more than SQLite's own work. On SQLite the statement
is compiled once by SQLAlchemy and run by the driver on values that went through the same bind
processors, memoized: most values of an import (the run id, ``now``, the project, severities, empty
lists) repeat on every row. SQLite gets multi-row INSERT statements; PostgreSQL gets psycopg 3's
``executemany`` of the one-row statement (pipelined, parsed once).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import chain
from operator import itemgetter
from typing import Any, cast

import orjson
from sqlalchemy import JSON
from sqlalchemy.engine import Connection
from sqlalchemy.sql import ClauseElement, Executable, Insert
from sqlalchemy.sql.compiler import SQLCompiler

CHUNK = 5000
SQLITE_MAX_VARIABLES = 32766  # SQLite >= 3.32
MAX_ROWS_PER_INSERT = 1000


# Most JSON columns of a finding hold an empty list or object: no need to serialize those.
_EMPTY_JSON: dict[type, str] = {list: "[]", dict: "{}", tuple: "[]"}


def _json(value: Any) -> str:
    if not value:
        empty = _EMPTY_JSON.get(type(value))
        if empty is not None:
            return empty
    return orjson.dumps(value).decode()


def _processor(bind: Any, dialect: Any) -> Callable[[Any], Any] | None:
    if isinstance(bind.type, JSON):
        return _json
    processor: Callable[[Any], Any] | None = bind.type._cached_bind_processor(dialect)
    return processor


def executemany(conn: Connection, stmt: Executable, rows: Sequence[dict[str, Any]]) -> None:
    """Run ``stmt`` once per row (no result rows), in chunks."""
    if not rows:
        return
    compiled = cast(SQLCompiler, cast(ClauseElement, stmt).compile(dialect=conn.dialect))
    named = compiled.positiontup is None  # psycopg: %(name)s placeholders
    names = list(compiled.binds) if named else list(compiled.positiontup or [])
    binds = [compiled.binds[name] for name in names]
    # Binds the rows do not carry are constants of the statement (``.values(active=False)``).
    keys = [bind.key if bind.key in rows[0] else None for bind in binds]
    constants = [None if key else bind.effective_value for key, bind in zip(keys, binds, strict=True)]
    processors = [_processor(bind, conn.dialect) for bind in binds]
    # The row's values are taken in one C call; only the columns with a processor (JSON, dates,
    # enums) or a constant are touched one by one, memoized where the value is hashable.
    present = [i for i, key in enumerate(keys) if key is not None]
    pick: Callable[[dict[str, Any]], Any] = itemgetter(*(keys[i] for i in present)) if present else tuple
    if len(present) == 1:
        single = pick
        pick = lambda row: (single(row),)  # noqa: E731 - itemgetter of one key returns the bare value
    special: list[tuple[int, Any, Callable[[Any], Any] | None, dict[Any, Any]]] = [
        (i, constants[i], processors[i], {})
        for i in range(len(names))
        if keys[i] is None or processors[i] is not None
    ]
    width = len(names)
    direct = len(present) == width

    def convert(row: dict[str, Any]) -> tuple[Any, ...]:
        picked = pick(row)
        if direct and not special:
            return tuple(picked)
        values: list[Any] = list(picked) if direct else [None] * width
        if not direct:
            for slot, value in zip(present, picked, strict=True):
                values[slot] = value
        for slot, constant, processor, cache in special:
            value = constant if keys[slot] is None else values[slot]
            if value is None or processor is None:
                values[slot] = value
            elif processor is _json:
                values[slot] = _json(value)
            else:
                try:
                    values[slot] = cache[value]
                except KeyError:
                    cache[value] = values[slot] = processor(value)
                except TypeError:
                    values[slot] = processor(value)
        return tuple(values)

    sql = str(compiled)
    if named:
        # One statement text, parsed once by psycopg and pipelined: multi-row VALUES statements of
        # tens of thousands of placeholders cost more to split client-side than to execute.
        for start in range(0, len(rows), CHUNK):
            chunk = [dict(zip(names, convert(row), strict=True)) for row in rows[start : start + CHUNK]]
            conn.exec_driver_sql(sql, chunk)
        return
    if not isinstance(stmt, Insert) or sql.count(" VALUES (") != 1:
        for start in range(0, len(rows), CHUNK):
            conn.exec_driver_sql(sql, [convert(row) for row in rows[start : start + CHUNK]])
        return
    # Many rows per INSERT statement (what insertmanyvalues does), within SQLite's variable limit.
    head, _, rest = sql.partition(" VALUES ")
    group, close, tail = rest.partition(")")
    group += close
    per = max(1, min(MAX_ROWS_PER_INSERT, SQLITE_MAX_VARIABLES // max(1, len(names))))
    for start in range(0, len(rows), per):
        batch = rows[start : start + per]
        text = f"{head} VALUES {', '.join([group] * len(batch))}{tail}"
        conn.exec_driver_sql(text, tuple(chain.from_iterable(map(convert, batch))))


def fetch_rows(conn: Connection, columns: Sequence[str], rest: str, params: Sequence[Any]) -> list[Any]:
    """``SELECT columns rest`` (``rest``: FROM, WHERE, with the driver's placeholders) as a list of rows.

    On SQLite the rows come back as one JSON array in one row: the driver releases the GIL around
    every row it steps through, and while the report reader thread runs (app.ingestion.prefetch)
    each of those thousands of releases can cost a wait for the GIL to come back; one row is one
    release, and decoding the array is a single C call. Elsewhere rows are fetched as usual.
    """
    if conn.dialect.name == "sqlite":
        packed = f"SELECT json_group_array(json_array({', '.join(columns)})) {rest}"
        raw = conn.exec_driver_sql(packed, tuple(params)).scalar()
        return orjson.loads(raw) if raw else []
    return list(conn.exec_driver_sql(f"SELECT {', '.join(columns)} {rest}", tuple(params)).fetchall())


def in_list(conn: Connection, values: Sequence[Any]) -> tuple[str, list[Any]]:
    """``IN`` over many values as driver SQL: ``= ANY(%s)`` with one array on PostgreSQL, ``IN (?, ...)``
    on SQLite. SQLAlchemy's expanding ``IN`` renders one bind per value, which for a chunk of 10,000
    fingerprints costs more to compile than to run."""
    if conn.dialect.name == "postgresql":
        return "= ANY(%s)", [list(values)]
    return f"IN ({', '.join('?' * len(values))})", list(values)


def placeholder(conn: Connection) -> str:
    """The driver's positional placeholder."""
    return "%s" if conn.dialect.name == "postgresql" else "?"
