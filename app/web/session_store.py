"""Flask session interface backed by ``user_session`` rows: the cookie is only a random token.

Flask's default session is a signed cookie holding the data itself; a copied cookie would stay valid
until it expires. Here the cookie holds a random token, the database holds its hash, and every request
asks the database whether that session still lives (logout, password change, deactivation, idle and
absolute timeouts). The CSRF secret is derived from the token, so a new token at sign-in also
discards the pre-login CSRF token, and nothing secret is ever stored.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from datetime import timedelta
from typing import Any

from flask import Flask, Request, g
from flask.sessions import SessionInterface, SessionMixin
from werkzeug.datastructures import CallbackDict
from werkzeug.wrappers import Response

from app.services import sessions as session_service
from app.services.sessions import Lifetimes, SessionState
from app.web.database import get_database

log = logging.getLogger("vigil.auth")
CSRF_KEY = "csrf_token"
# Requests that never use the browser session: assets, probes and the key-authenticated API.
SESSIONLESS_PREFIXES = ("/static/", "/api/", "/healthz", "/readyz")
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")


class ServerSession(CallbackDict[str, Any], SessionMixin):
    """Session data for one request plus the token and the live server-side state, if any."""

    def __init__(self, token: str, secret: str, state: SessionState | None, *, new: bool) -> None:
        def on_update(_self: CallbackDict[str, Any]) -> None:
            self.modified = True
            self.accessed = True

        self.token = token
        self.state = state
        self.new = new
        self.modified = False
        self.accessed = False
        self.stale_cookie = False
        self.sessionless = False  # never sets or clears a cookie (API, assets, probes)
        self._secret = secret
        data = dict(state.data) if state is not None else {}
        data[CSRF_KEY] = derive_csrf(secret, token)
        super().__init__(data, on_update)
        self.modified = False

    def __getitem__(self, key: str) -> Any:
        self.accessed = True
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        self.accessed = True
        return super().get(key, default)

    def setdefault(self, key: str, default: Any = None) -> Any:
        self.accessed = True
        return super().setdefault(key, default)

    def rotate(self, token: str, state: SessionState | None) -> None:
        """Switch to a new token (sign-in, sign-out): pre-login data and CSRF token are discarded."""
        self.clear()
        self.token = token
        self.state = state
        self.new = True
        self[CSRF_KEY] = derive_csrf(self._secret, token)
        self.modified = False
        self.accessed = True
        g.pop(CSRF_KEY, None)  # Flask-WTF caches the signed token for the request

    def persistent_data(self) -> dict[str, Any]:
        return {k: v for k, v in self.items() if k != CSRF_KEY}


def derive_csrf(secret: str, token: str) -> str:
    return hmac.new(secret.encode(), b"csrf:" + token.encode(), hashlib.sha256).hexdigest()


def lifetimes_of(app: Flask) -> Lifetimes:
    settings = app.config["VIGIL"]
    return Lifetimes(
        idle=timedelta(minutes=settings.session_idle_minutes),
        absolute=timedelta(hours=settings.session_absolute_hours),
    )


class ServerSessionInterface(SessionInterface):
    def open_session(self, app: Flask, request: Request) -> ServerSession:
        secret = str(app.secret_key)
        raw = request.cookies.get(self.get_cookie_name(app), "")
        if request.path.startswith(SESSIONLESS_PREFIXES):
            detached = ServerSession(session_service.new_token(), secret, None, new=True)
            detached.sessionless = True
            return detached
        if not TOKEN_RE.match(raw):
            return ServerSession(session_service.new_token(), secret, None, new=True)
        database = get_database(app)
        with database.reader() as db:
            state, dead_reason = session_service.load(db, raw, lifetimes_of(app))
        if state is None and dead_reason is None:
            # An anonymous visitor's token (it only keys the CSRF token); sign-in replaces it.
            return ServerSession(raw, secret, None, new=False)
        if dead_reason in ("idle", "absolute"):
            with database.transaction() as db:
                session_service.expire(db, raw, dead_reason)
        if state is None:
            # A dead session's token: start over with a fresh anonymous token, never reuse the old one.
            fresh = ServerSession(session_service.new_token(), secret, None, new=True)
            fresh.stale_cookie = True
            return fresh
        if session_service.needs_touch(state):
            with database.transaction() as db:
                session_service.touch(db, state.session_id)
        return ServerSession(raw, secret, state, new=False)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        assert isinstance(session, ServerSession)
        if session.sessionless:
            return
        name = self.get_cookie_name(app)
        if session.accessed:
            response.vary.add("Cookie")
        if session.state is not None and session.modified:
            with get_database(app).transaction() as db:
                session_service.save_data(db, session.state.session_id, session.persistent_data())
        if session.new and (session.accessed or session.state is not None):
            response.set_cookie(
                name,
                session.token,
                path=self.get_cookie_path(app),
                domain=self.get_cookie_domain(app),
                secure=self.get_cookie_secure(app),
                httponly=self.get_cookie_httponly(app),
                samesite=self.get_cookie_samesite(app),
            )
        elif session.stale_cookie:
            response.delete_cookie(
                name,
                path=self.get_cookie_path(app),
                domain=self.get_cookie_domain(app),
                secure=self.get_cookie_secure(app),
                httponly=self.get_cookie_httponly(app),
                samesite=self.get_cookie_samesite(app),
            )


def init_app(app: Flask) -> None:
    app.session_interface = ServerSessionInterface()
