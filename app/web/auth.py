"""Sign-in, second factor, re-authentication and sign-out pages.

A failed sign-in answers the same page, status and cookies whether the account exists or not.
Limits (``app.security.rate_limits``): 10 attempts a minute per client IP, and 5 failures per 15
minutes per account name (existing or not, so the limit itself reveals nothing); the account
lockout in the database is the durable version of the latter.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user
from werkzeug.wrappers import Response

from app.models.base import ActorType
from app.security.rate_limits import ACCOUNT_LIMIT, IP_LIMIT
from app.security.secret_box import SecretBox
from app.services import auth as auth_service
from app.services import sessions as session_service
from app.services.actor import Actor
from app.services.auth import CodeCheck, LoginPolicy, LoginStatus
from app.services.sessions import SessionState
from app.services.users import normalize_username
from app.web import attempts
from app.web.access import (
    client_ip,
    current_actor,
    policy,
    public,
    safe_next,
    session_state,
)
from app.web.database import get_database
from app.web.protection import limiter_of
from app.web.session_store import ServerSession, lifetimes_of

bp = Blueprint("auth", __name__)
GENERIC_FAILURE = "Invalid username or password."
SECOND_FACTOR_UNAVAILABLE = (
    "Your second factor cannot be checked right now: the server's key for it has changed. "
    "Ask an administrator."
)


def secret_box() -> SecretBox:
    """The key TOTP secrets are sealed with, derived once per application from its settings."""
    box = current_app.extensions.get("vigil.secret_box")
    if box is None:
        box = SecretBox.from_settings(current_app.config["VIGIL"])
        current_app.extensions["vigil.secret_box"] = box
    return box


def home_url() -> str:
    """The dashboard when it exists, otherwise the account page."""
    if "dashboard.index" in current_app.view_functions:
        return url_for("dashboard.index")
    return url_for("account.index")


def _server_session() -> ServerSession:
    assert isinstance(session, ServerSession)
    return session


def _login_page(status: int = 200, error: str | None = None, username: str = "") -> tuple[str, int]:
    banner = not current_app.config["VIGIL"].totp_required
    html = render_template(
        "auth/login.html",
        error=error,
        username=username,
        next=safe_next(request.values.get("next"), ""),
        totp_banner=banner,
    )
    return html, status


@bp.get("/login")
@public
def login_form() -> Any:
    if current_user.is_authenticated:
        return redirect(home_url())
    return _login_page()


@bp.post("/login")
@public
def login() -> Any:
    settings = current_app.config["VIGIL"]
    username = request.form.get("username", "")
    password = request.form.get("password", "")
    next_url = safe_next(request.form.get("next"), "")
    with get_database().transaction() as db:
        outcome = auth_service.login(
            db,
            username,
            password,
            ip=client_ip(),
            user_agent=request.user_agent.string,
            request_id=g.get("request_id"),
            policy=LoginPolicy(
                settings.login_lockout_failures, timedelta(minutes=settings.login_lockout_minutes)
            ),
        )
        state = None
        if outcome.status is LoginStatus.OK:
            assert outcome.token is not None
            state, _ = session_service.load(db, outcome.token, lifetimes_of(current_app))
    if outcome.status is LoginStatus.LOCKED:
        abort(429)
    if outcome.status is LoginStatus.FAILED or outcome.token is None:
        return _login_page(401, GENERIC_FAILURE, username="")
    _server_session().rotate(outcome.token, state)
    if outcome.needs_second_factor:
        return redirect(url_for("auth.totp_form", next=next_url or None))
    return redirect(next_url or home_url())


def _pending_state() -> SessionState | None:
    state = session_state()
    return state if state is not None and not state.complete else None


@bp.get("/login/totp")
@public
def totp_form() -> Any:
    if _pending_state() is None:
        return redirect(url_for("auth.login_form"))
    return render_template("auth/totp.html", error=None, next=safe_next(request.args.get("next"), ""))


@bp.post("/login/totp")
@public
def totp_verify() -> Any:
    state = _pending_state()
    if state is None:
        return redirect(url_for("auth.login_form"))
    actor = _state_actor(state)
    with get_database().transaction() as db:
        check = auth_service.verify_second_factor(
            db, actor, state.session_id, request.form.get("code", ""), box=secret_box()
        )
    next_url = safe_next(request.form.get("next"), "")
    if check is CodeCheck.UNREADABLE:
        return render_template("auth/totp.html", error=SECOND_FACTOR_UNAVAILABLE, next=next_url), 503
    if check is not CodeCheck.OK:
        html = render_template(
            "auth/totp.html", error="That code is not correct or was already used.", next=next_url
        )
        return html, 401
    return redirect(next_url or home_url())


def _state_actor(state: SessionState) -> Actor:
    return Actor(
        type=ActorType.USER,
        id=state.user_id,
        label=state.username,
        role=state.role,
        ip=client_ip(),
        request_id=g.get("request_id"),
    )


@bp.post("/logout")
@public
def logout() -> Response:
    state = session_state()
    if state is not None:
        with get_database().transaction() as db:
            session_service.end(db, _state_actor(state), state.session_id, "logout")
    _server_session().rotate(session_service.new_token(), None)
    return redirect(url_for("auth.login_form"))


@bp.get("/reauth")
@policy("account.self", setup_step=True)
def reauth_form() -> Any:
    return render_template("auth/reauth.html", error=None, next=safe_next(request.args.get("next"), ""))


@bp.post("/reauth")
@policy("account.self", setup_step=True)
def reauth() -> Any:
    state = session_state()
    assert state is not None
    next_url = safe_next(request.form.get("next"), "")
    with get_database().transaction() as db:
        ok = auth_service.reauthenticate(
            db,
            current_actor(),
            state.session_id,
            request.form.get("password", ""),
            request.form.get("code", ""),
            box=secret_box(),
        )
    if not ok:
        html = render_template("auth/reauth.html", error="That did not match. Try again.", next=next_url)
        return html, 401
    return redirect(next_url or home_url())


def _account_key() -> str:
    return "account:" + normalize_username(request.form.get("username", ""))[:150]


def _count_failure(response: Response) -> bool:
    return response.status_code >= 400


def install_home_fallback(app: Flask) -> None:
    """Serve ``/`` as a redirect home until a dashboard blueprint claims the root URL."""
    if any(rule.rule == "/" for rule in app.url_map.iter_rules()):
        return

    @policy("account.self")
    def index() -> Response:
        return redirect(home_url())

    app.add_url_rule("/", endpoint="home", view_func=index, methods=["GET"])


def _session_key() -> str:
    state = session_state()
    return f"session:{state.session_id}" if state is not None else f"ip:{client_ip()}"


def init_app(app: Flask) -> None:
    limiter = limiter_of(app)
    view: Any = app.view_functions["auth.login"]
    view = limiter.limit(IP_LIMIT, methods=["POST"])(view)
    view = limiter.limit(ACCOUNT_LIMIT, key_func=_account_key, methods=["POST"], deduct_when=_count_failure)(
        view
    )
    # Outermost: attempts for one account run one at a time, so parallel ones cannot all pass the
    # failure count before any failure is recorded (app.web.attempts).
    attempts.init_app(app)
    app.view_functions["auth.login"] = attempts.one_at_a_time(_account_key)(view)
    # A stolen password (or an unattended session) must not buy unlimited guesses at the code or the
    # password behind it: 5 wrong answers per session per 15 minutes, 10 attempts a minute per IP.
    for endpoint in ("auth.totp_verify", "auth.reauth"):
        guarded: Any = app.view_functions[endpoint]
        guarded = limiter.limit(IP_LIMIT, methods=["POST"])(guarded)
        guarded = limiter.limit(
            ACCOUNT_LIMIT, key_func=_session_key, methods=["POST"], deduct_when=_count_failure
        )(guarded)
        app.view_functions[endpoint] = attempts.one_at_a_time(_session_key)(guarded)
