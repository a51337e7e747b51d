"""Sign-in pages. (Session handling, lockout and second factor live in app.security / services.)"""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from werkzeug.wrappers import Response

bp = Blueprint("auth", __name__)


@bp.get("/")
def index() -> Response:
    return redirect(url_for("auth.login"))


@bp.get("/login")
def login() -> str:
    return render_template("auth/login.html")
