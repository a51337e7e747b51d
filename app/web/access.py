"""Who may call which route: the decorators every view wears, and the acting identity.

Every view is wrapped in exactly one of :func:`policy` (browser pages, a signed-in user holding a
permission), :func:`api_policy` (``/api/v1``, a Bearer API key whose scopes grant the permission) or
:func:`public`. The decorators record their choice on the view, and a test walks ``app.url_map``
to prove that no route was forgotten: deny by default is enforced by the suite, not by memory.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar, cast
from urllib.parse import urlencode, urlsplit

from flask import Flask, Response, current_app, g, has_request_context, redirect, request, session, url_for
from flask_login import AnonymousUserMixin, LoginManager, UserMixin, current_user

from app.models.base import ActorType, Role
from app.security import clock
from app.services import api_keys as api_key_service
from app.services import audit
from app.services.actor import Actor
from app.services.permissions import ALL_PERMISSIONS, NotFound, PermissionDenied, can
from app.services.sessions import SessionState
from app.web.database import get_database
from app.web.errors import error_response, wants_json

log = logging.getLogger("vigil.auth")
F = TypeVar("F", bound=Callable[..., Any])
POLICY_ATTR = "_vigil_policy"
API_POLICY_ATTR = "_vigil_api_policy"
PUBLIC_ATTR = "_vigil_public"
SETUP_ATTR = "_vigil_setup_step"
FRESH_ATTR = "_vigil_fresh_auth"
ACTOR_KEY = "vigil_actor"
QUERY_KEY_NAMES = frozenset({"api_key", "apikey", "key", "token", "access_token", "auth", "authorization"})
SECOND_FACTOR_ROLES = frozenset({Role.ADMIN, Role.APPROVER})


class SessionUser(UserMixin):
    """The signed-in user as Flask-Login sees it: a snapshot of the live session row."""

    def __init__(self, state: SessionState) -> None:
        self.state = state
        self.id = state.user_id
        self.username = state.username
        self.display_name = state.display_name
        self.role = state.role


class AnonymousUser(AnonymousUserMixin):
    role = None
    username = "anonymous"


def session_state() -> SessionState | None:
    """The live server-side session of this request (complete or waiting for the second factor)."""
    state = getattr(session, "state", None)
    return state if isinstance(state, SessionState) else None


def client_ip() -> str | None:
    """The client address; ProxyFix has already applied the configured trusted proxy count."""
    return request.remote_addr


def current_actor() -> Actor:
    """The identity services receive: an API key, a signed-in user, or an anonymous nobody."""
    actor = g.get(ACTOR_KEY)
    if isinstance(actor, Actor):
        return actor
    rid = g.get("request_id")
    if current_user.is_authenticated:
        state: SessionState = current_user.state
        return Actor(
            type=ActorType.USER,
            id=state.user_id,
            label=state.username,
            role=state.role,
            project_ids=state.project_ids,
            ip=client_ip(),
            request_id=rid,
        )
    return Actor(
        type=ActorType.USER,
        id=None,
        label="anonymous",
        project_ids=frozenset(),
        ip=client_ip(),
        request_id=rid,
    )


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def safe_next(target: str | None, default: str = "/") -> str:
    """Only same-site relative paths: ``//evil`` and ``/\\evil`` are open redirects in browsers."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(c in target for c in "\r\n\t"):
        return default
    return target


def _redirect_or_401(endpoint: str, title: str, next_url: str) -> Response:
    target = url_for(endpoint) + "?" + urlencode({"next": next_url})
    if is_htmx() or wants_json():
        response = error_response(401, "Unauthorized", title)
        response.headers["HX-Redirect"] = target
        return response
    return cast(Response, redirect(target))


def _here() -> str:
    """Where to come back to: this page for GET, the page the form was on for other methods."""
    if request.method == "GET":
        return safe_next(request.full_path.rstrip("?"))
    referrer = request.referrer or ""
    parts = urlsplit(referrer)
    if parts.netloc == request.host:
        return safe_next(parts.path + (f"?{parts.query}" if parts.query else ""))
    return "/"


def record_authz_fail(actor: Actor, permission: str | None, reason: str = "denied") -> None:
    """Record the refusal in its own transaction: the request's own transaction is rolled back."""
    pending = g.get("db_session")
    if pending is not None:
        pending.rollback()  # release the SQLite write lock before taking it again below
    view_args = dict(request.view_args or {})
    object_id = next(iter(view_args.values()), None)
    with get_database().transaction() as db:
        audit.record(
            db,
            actor,
            "authz_fail",
            object_type="route",
            object_id=None if object_id is None else str(object_id),
            result=reason,
            after={
                "route": request.url_rule.rule if request.url_rule else request.path,
                "endpoint": request.endpoint,
                "method": request.method,
                "permission": permission,
                "view_args": {k: str(v) for k, v in view_args.items()},
            },
        )
    log.warning(
        "authz_fail", extra={"actor": actor.label, "endpoint": request.endpoint, "permission": permission}
    )


def _check_permission(permission: str) -> None:
    if permission not in ALL_PERMISSIONS:
        raise KeyError(f"unknown permission {permission!r}")


def policy(permission: str, *, setup_step: bool = False) -> Callable[[F], F]:
    """Browser route: a live, complete session whose role holds ``permission``.

    ``setup_step`` marks the few pages a user may use before finishing set-up (first-login password
    change, TOTP enrolment); every other page sends such a user to finish it first.
    """
    _check_permission(permission)

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return _redirect_or_401("auth.login", "Sign in to continue.", _here())
            state: SessionState = current_user.state
            if not setup_step:
                pending = _pending_setup(state)
                if pending is not None:
                    return _redirect_or_401(pending, "Finish setting up your account first.", _here())
            actor = current_actor()
            if not can(actor, permission):
                record_authz_fail(actor, permission)
                return error_response(403, "Forbidden", "Your role does not allow this.")
            return view(*args, **kwargs)

        setattr(wrapper, POLICY_ATTR, permission)
        setattr(wrapper, SETUP_ATTR, setup_step)
        return cast(F, wrapper)

    return decorate


def _pending_setup(state: SessionState) -> str | None:
    if state.must_change_password:
        return "account.password"
    settings = _settings()
    if settings.totp_required and state.role in SECOND_FACTOR_ROLES and not state.totp_enabled:
        return "account.totp"
    return None


def _settings() -> Any:
    return current_app.config["VIGIL"]


def fresh_auth_required(view: F) -> F:
    """Sensitive actions (keys, roles, approvals) need a sign-in at most ``fresh_auth_minutes`` old."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        state = session_state()
        window = timedelta(minutes=_settings().fresh_auth_minutes)
        if state is None or clock.now() - state.authenticated_at > window:
            return _redirect_or_401("auth.reauth", "Confirm your password to continue.", _here())
        return view(*args, **kwargs)

    setattr(wrapper, FRESH_ATTR, True)
    return cast(F, wrapper)


def public(view: F) -> F:
    """A route anyone may call (sign-in page, health probes, static files)."""
    setattr(view, PUBLIC_ATTR, True)
    return view


def _api_error(status: int, detail: str) -> Response:
    response = error_response(status, "Unauthorized" if status == 401 else "Forbidden", detail)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="vigil"'
    return response


def api_policy(permission: str) -> Callable[[F], F]:
    """``/api/v1`` route: a Bearer API key whose scopes grant ``permission``; cookies are ignored."""
    _check_permission(permission)

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if any(
                name.lower() in QUERY_KEY_NAMES or value.startswith("vigil_")
                for name, value in request.args.items(multi=True)
            ):
                return _api_error(401, "API keys are accepted only in the Authorization header.")
            scheme, _, raw = request.headers.get("Authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not raw.strip():
                return _api_error(401, "Send the API key as 'Authorization: Bearer vigil_...'.")
            database = get_database()
            with database.reader() as db:
                key = api_key_service.authenticate(db, raw.strip())
            if key is None:
                return _api_error(401, "The API key is unknown, revoked or expired.")
            if api_key_service.needs_touch(key):
                with database.transaction() as db:
                    api_key_service.touch(db, key.id, client_ip())
            actor = Actor(
                type=ActorType.API_KEY,
                id=key.id,
                label=f"apikey:{key.name}",
                project_ids=frozenset(key.project_ids) if key.project_ids else None,
                scopes=frozenset(key.scopes),
                ip=client_ip(),
                request_id=g.get("request_id"),
            )
            g.vigil_actor = actor
            if not can(actor, permission):
                record_authz_fail(actor, permission)
                return _api_error(403, "This API key's scopes do not allow this.")
            project_id = (request.view_args or {}).get("project_id")
            if isinstance(project_id, int) and not actor.can_see_project(project_id):
                raise NotFound()
            return view(*args, **kwargs)

        setattr(wrapper, API_POLICY_ATTR, permission)
        return cast(F, wrapper)

    return decorate


def route_policy(app: Flask, endpoint: str) -> tuple[str, str | None]:
    """(kind, permission) registered for an endpoint: kind is public, policy, api or missing."""
    view = app.view_functions.get(endpoint)
    if view is None:
        return "missing", None
    if getattr(view, PUBLIC_ATTR, False):
        return "public", None
    if hasattr(view, API_POLICY_ATTR):
        return "api", getattr(view, API_POLICY_ATTR)
    if hasattr(view, POLICY_ATTR):
        return "policy", getattr(view, POLICY_ATTR)
    return "missing", None


def _load_user(_request: Any) -> SessionUser | None:
    state = session_state()
    if state is None or not state.complete:
        return None
    return SessionUser(state)


def init_app(app: Flask) -> None:
    manager = LoginManager()
    manager.session_protection = None  # the server-side session row is the protection
    manager.anonymous_user = AnonymousUser
    manager.request_loader(_load_user)
    manager.init_app(app)
    app.config["REMEMBER_COOKIE_NAME"] = "__Host-remember-disabled"

    static_view = app.view_functions.get("static")
    if static_view is not None:

        @public
        @functools.wraps(static_view)
        def static_files(**kwargs: Any) -> Any:
            return static_view(**kwargs)

        app.view_functions["static"] = static_files

    @app.errorhandler(PermissionDenied)
    def _denied(exc: PermissionDenied) -> Response:
        record_authz_fail(current_actor(), exc.permission)
        return error_response(403, "Forbidden", "Your role does not allow this.")

    @app.errorhandler(NotFound)
    def _not_found(_exc: NotFound) -> Response:
        return error_response(404, "Not Found", "There is nothing here, or you may not see it.")

    @app.context_processor
    def _inject() -> dict[str, Any]:
        if not has_request_context():  # e.g. a scheduled PDF report rendered by a job
            return {"can": lambda _permission: False, "session_state": None}
        actor = current_actor()
        return {
            "can": (lambda permission: can(actor, permission)),
            "session_state": session_state(),
        }
