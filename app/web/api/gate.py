"""``GET /api/v1/projects/<id>/gate``: may this build pass? (API key with the ``gate`` scope)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from app.services import gate as gate_service
from app.web.access import api_policy, current_actor
from app.web.api import API_PREFIX
from app.web.database import db_session
from app.web.errors import error_response

bp = Blueprint("api_gate", __name__, url_prefix=API_PREFIX)


@bp.get("/projects/<int:project_id>/gate")
@api_policy("gate.check")
def gate(project_id: int) -> Response:
    fail_on = request.args.get("fail_on", "high")
    new_since = request.args.get("new_since") or None
    try:
        result = gate_service.evaluate(db_session(), current_actor(), project_id, fail_on, new_since)
    except gate_service.NoBaseline as exc:
        return error_response(409, "Conflict", str(exc))
    except gate_service.GateError as exc:
        return error_response(400, "Bad Request", str(exc))
    return jsonify(result.as_dict())
