"""Vigil: a self-hosted security dashboard.

``create_app`` builds the Flask application; every subsystem binds itself with ``init_app``.
It never migrates the schema and never starts a scheduler: those are explicit CLI actions.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from flask import Flask

from app.config import ROOT, Settings, load_settings
from app.db import Database
from app.logging_setup import configure_logging


def create_app(config: Mapping[str, Any] | None = None, *, database: Database | None = None) -> Flask:
    """Build the web application from ``VIGIL_*`` settings plus explicit overrides."""
    settings: Settings = load_settings(config)
    configure_logging(settings.log_level)
    app = Flask(
        __name__,
        instance_path=str(settings.instance_path),
        static_folder=str(ROOT / "static"),
        template_folder=str(ROOT / "templates"),
    )
    app.config.update(
        VIGIL=settings,
        SECRET_KEY=settings.secret_key,
        DEBUG=False,
        TESTING=settings.env == "test",
        PROPAGATE_EXCEPTIONS=False,
        MAX_CONTENT_LENGTH=settings.max_upload_bytes,
        SESSION_COOKIE_NAME="__Host-session" if settings.cookie_secure else "vigil-session",
        SESSION_COOKIE_SECURE=settings.cookie_secure,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_PATH="/",
        SESSION_COOKIE_DOMAIN=None,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=settings.session_absolute_hours),
        REMEMBER_COOKIE_DURATION=timedelta(seconds=0),
        SEND_FILE_MAX_AGE_DEFAULT=3600,
        JSON_SORT_KEYS=False,
    )
    app.config.update({k: v for k, v in settings.extra.items() if k.isupper()})

    from app.web import access, converters, errors, headers, protection, session_store
    from app.web import database as web_database

    converters.init_app(app)
    web_database.init_app(app, database or Database(settings.database_url))
    headers.init_app(app)
    errors.init_app(app)
    session_store.init_app(app)
    access.init_app(app)
    protection.init_app(app)

    from app.web import auth, register_blueprints

    register_blueprints(app)
    auth.install_home_fallback(app)
    return app
