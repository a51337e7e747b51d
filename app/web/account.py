"""The signed-in user's own account: profile, password, second factor and live sessions.

The password and TOTP pages are "set-up steps": a user who must change the one-time password, or an
admin/approver who must enrol a second factor, can reach them (and nothing else) until done.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, request, url_for
from werkzeug.wrappers import Response

from app.models import User
from app.security.passwords import WeakPassword
from app.services import auth as auth_service
from app.services import sessions as session_service
from app.services.auth import AuthError, Enrolment
from app.web.access import current_actor, policy, session_state
from app.web.auth import secret_box
from app.web.database import db_session
from app.web.render import page
from app.web.session_store import lifetimes_of

bp = Blueprint("account", __name__, url_prefix="/account")


def _me() -> User:
    user = db_session().get(User, current_actor().id)
    assert user is not None
    return user


def _current_session_id() -> int:
    state = session_state()
    assert state is not None
    return state.session_id


@bp.get("")
@policy("account.self")
def index() -> Response:
    user = _me()
    rows = session_service.list_live(db_session(), user.id, lifetimes_of(current_app))
    return page(
        "account/page.html",
        "account/_sessions.html",
        user=user,
        sessions=rows,
        current_session_id=_current_session_id(),
        totp_required=current_app.config["VIGIL"].totp_required,
    )


@bp.post("/sessions/<int:session_id>/end")
@policy("account.self")
def end_session(session_id: int) -> Response:
    session_service.end(db_session(), current_actor(), session_id, "ended_by_user")
    flash("The session was ended.", "success")
    return redirect(url_for("account.index"))


def _password_page(status: int = 200, error: str | None = None, done: bool = False) -> Response:
    user = _me()
    return page(
        "account/password.html",
        "account/_password_form.html",
        status,
        error=error,
        done=done,
        first_login=user.must_change_password,
    )


@bp.get("/password")
@policy("account.self", setup_step=True)
def password() -> Response:
    return _password_page()


@bp.post("/password")
@policy("account.self", setup_step=True)
def change_password() -> Any:
    form = request.form
    if form.get("new_password", "") != form.get("confirm_password", ""):
        return _password_page(400, "The two new passwords do not match.")
    try:
        auth_service.change_password(
            db_session(),
            current_actor(),
            current=form.get("current_password", ""),
            new=form.get("new_password", ""),
            keep_session_id=_current_session_id(),
        )
    except WeakPassword as exc:
        return _password_page(400, f"That password is refused: {exc}")
    except AuthError as exc:
        return _password_page(400, str(exc).capitalize() + ".")
    return _password_page(200, done=True)


def _totp_page(status: int = 200, enrolment: Enrolment | None = None, error: str | None = None) -> Response:
    return page(
        "account/totp.html",
        "account/_totp.html",
        status,
        user=_me(),
        enrolment=enrolment,
        error=error,
        required=current_app.config["VIGIL"].totp_required,
    )


@bp.get("/totp")
@policy("account.self", setup_step=True)
def totp() -> Response:
    return _totp_page()


@bp.post("/totp/start")
@policy("account.self", setup_step=True)
def totp_start() -> Response:
    try:
        enrolment = auth_service.start_totp_enrolment(db_session(), current_actor(), box=secret_box())
    except AuthError as exc:
        return _totp_page(400, error=str(exc))
    return _totp_page(enrolment=enrolment)


@bp.post("/totp/confirm")
@policy("account.self", setup_step=True)
def totp_confirm() -> Any:
    try:
        auth_service.confirm_totp_enrolment(
            db_session(),
            current_actor(),
            _current_session_id(),
            request.form.get("code", ""),
            box=secret_box(),
        )
    except AuthError as exc:
        return _totp_page(400, error=f"{exc}. Start again to get a new secret.")
    flash("Second factor enrolled: sign-ins now ask for a code.", "success")
    return redirect(url_for("account.index"))
