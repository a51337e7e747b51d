"""Liveness and readiness probes for load balancers: no data, no authentication."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify
from sqlalchemy import text

from app.web.access import public
from app.web.database import db_session

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@public
def healthz() -> Response:
    return jsonify(status="ok")


@bp.get("/readyz")
@public
def readyz() -> tuple[Response, int]:
    try:
        db_session().execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - readiness reports, never raises
        return jsonify(status="unavailable"), 503
    return jsonify(status="ok"), 200
