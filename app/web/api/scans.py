"""``/api/v1`` scans: queue a scan now, read a run's state, read scan health (API keys only).

``POST /projects/<id>/scans`` goes through the same queue as the schedule, the CLI and the "scan
now" button (``app.services.scans.queue_scans``); the runs are handed to the executors once the
request's transaction commits. Scope ``scan`` grants it; ``read`` grants the two GETs.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from app.errors import VigilError
from app.execution import dispatcher
from app.models import ScanRun
from app.models.base import RunTrigger
from app.services import scan_health
from app.services import scans as scan_service
from app.web.access import api_policy, current_actor
from app.web.api import API_PREFIX, openapi
from app.web.database import db_session

bp = Blueprint("api_scans", __name__, url_prefix=API_PREFIX)
MAX_SCANNERS = 20


def _bad(detail: str) -> tuple[Response, int]:
    return jsonify(error="Bad Request", detail=detail), 400


def _scanners_from_body() -> list[str] | None:
    if not request.get_data(cache=True):
        return None
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or set(body) - {"scanners"}:
        raise scan_service.ScanError('send a JSON object like {"scanners": ["bandit"]} or no body')
    scanners = body.get("scanners")
    if scanners is None:
        return None
    if (
        not isinstance(scanners, list)
        or not 0 < len(scanners) <= MAX_SCANNERS
        or not all(isinstance(s, str) and 0 < len(s) <= 64 for s in scanners)
    ):
        raise scan_service.ScanError(f"'scanners' must be a list of 1-{MAX_SCANNERS} scanner names")
    return list(scanners)


@bp.post("/projects/<int:project_id>/scans")
@api_policy("scan.trigger")
def trigger(project_id: int) -> tuple[Response, int]:
    try:
        queued = scan_service.queue_scans(
            db_session(),
            current_actor(),
            project_id,
            scanners=_scanners_from_body(),
            trigger=RunTrigger.API,
            dispatch=dispatcher(current_app.config["VIGIL"]),
        )
    except VigilError as exc:
        return _bad(str(exc))
    return jsonify(project_id=queued.project_id, run_ids=queued.run_ids, busy=queued.busy), 202


def _run_json(run: ScanRun) -> dict[str, Any]:
    return {
        "id": run.id,
        "project_id": run.project_id,
        "scanner": run.scanner,
        "trigger": run.trigger.value,
        "status": run.status.value,
        "outcome": run.outcome.value if run.outcome else None,
        "commit": run.commit_sha,
        "tool_version": run.tool_version,
        "queued_at": run.queued_at.isoformat(),
        "started_at": run.started_at.isoformat() if run.started_at else None,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "error": run.error,
        "counts": {
            name: getattr(run, f"count_{name}")
            for name in ("total", "new", "unchanged", "reopened", "fixed", "suppressed")
        },
    }


@bp.get("/scans/<int:run_id>")
@api_policy("scan.view")
def run_state(run_id: int) -> tuple[Response, int]:
    run = scan_service.get_run(db_session(), current_actor(), run_id)
    return jsonify(_run_json(run)), 200


@bp.get("/scan-health")
@api_policy("scan.view")
def health() -> tuple[Response, int]:
    flags = scan_health.scan_health(
        db_session(),
        current_actor(),
        advisory_max_age_days=current_app.config["VIGIL"].advisory_max_age_days,
    )
    return jsonify(flags=[flag.as_dict() for flag in flags]), 200


_RUN = {
    "type": "object",
    "required": ["id", "project_id", "scanner", "status"],
    "properties": {
        "id": {"type": "integer"},
        "project_id": {"type": "integer"},
        "scanner": {"type": "string"},
        "trigger": {"type": "string"},
        "status": {
            "type": "string",
            "enum": ["queued", "running", "succeeded", "failed", "timed_out", "cancelled"],
        },
        "outcome": {"type": ["string", "null"], "enum": ["clean", "findings", "failed", None]},
        "commit": {"type": ["string", "null"]},
        "tool_version": {"type": ["string", "null"]},
        "queued_at": {"type": "string", "format": "date-time"},
        "started_at": {"type": ["string", "null"]},
        "finished_at": {"type": ["string", "null"]},
        "error": {"type": ["string", "null"]},
        "counts": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}},
    },
}
_ID = {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}

# This module's routes, described in the one OpenAPI document (registered with the blueprint).
openapi.PATHS.update(
    {
        "/projects/{project_id}/scans": {
            "post": {
                "operationId": "triggerScan",
                "summary": "Queue a scan now (the project's enabled scanners, or the ones named).",
                "parameters": [{"name": "project_id", "in": "path", "required": True, "schema": _ID}],
                "requestBody": {
                    "required": False,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "additionalProperties": False,
                                "properties": {
                                    "scanners": {
                                        "type": "array",
                                        "minItems": 1,
                                        "maxItems": MAX_SCANNERS,
                                        "items": {"type": "string", "minLength": 1, "maxLength": 64},
                                    }
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "202": {
                        "description": "Queued (scanners with a run already active are listed as busy)",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["project_id", "run_ids", "busy"],
                                    "properties": {
                                        "project_id": {"type": "integer"},
                                        "run_ids": {"type": "array", "items": {"type": "integer"}},
                                        "busy": {"type": "array", "items": {"type": "string"}},
                                    },
                                }
                            }
                        },
                    },
                    **openapi._errors(400, 401, 403, 404),
                },
                "x-scope": "scan",
            }
        },
        "/scans/{run_id}": {
            "get": {
                "operationId": "scanRun",
                "summary": "One scan run's state and counts.",
                "parameters": [{"name": "run_id", "in": "path", "required": True, "schema": _ID}],
                "responses": {**openapi._json(_RUN), **openapi._errors(401, 403, 404)},
                "x-scope": "read",
            }
        },
        "/scan-health": {
            "get": {
                "operationId": "scanHealth",
                "summary": "Scan-health flags: failed, skipped or overdue scans, silent zeros, stale data.",
                "responses": {
                    **openapi._json(
                        {
                            "type": "object",
                            "required": ["flags"],
                            "properties": {"flags": {"type": "array", "items": {"type": "object"}}},
                        }
                    ),
                    **openapi._errors(401, 403),
                },
                "x-scope": "read",
            }
        },
    }
)
