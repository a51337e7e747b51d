"""The request's unit of work: one session per request, committed only if the request succeeded.

GET/HEAD requests get a deferred (read) transaction; other methods a write transaction that takes
the SQLite lock up front. Views pass this session to services and never commit themselves.
"""

from __future__ import annotations

from flask import Flask, Response, current_app, g, request
from sqlalchemy.orm import Session

from app.db import Database

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_database(app: Flask | None = None) -> Database:
    database: Database = (app or current_app).extensions["vigil.db"]
    return database


def db_session() -> Session:
    """The session for the current request, created on first use."""
    if "db_session" not in g:
        g.db_session = get_database().session(write=request.method not in SAFE_METHODS)
    session: Session = g.db_session
    return session


def init_app(app: Flask, database: Database) -> None:
    app.extensions["vigil.db"] = database

    @app.after_request
    def _commit(response: Response) -> Response:
        session: Session | None = g.pop("db_session", None)
        if session is None:
            return response
        try:
            if response.status_code < 400 and request.method not in SAFE_METHODS:
                session.commit()
            else:
                session.rollback()
        finally:
            session.close()
        return response

    @app.teardown_request
    def _close(_exc: BaseException | None) -> None:
        session: Session | None = g.pop("db_session", None)
        if session is not None:
            session.rollback()
            session.close()
