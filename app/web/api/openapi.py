"""The OpenAPI 3.1 contract of ``/api/v1``, served at ``/api/v1/openapi.json``.

The document is written by hand as the contract CI jobs rely on; a test checks that every
``/api/v1`` route of the application is described here and that nothing described is missing,
and schemathesis fuzzes the API against it.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

from app.web.access import public
from app.web.api import API_PREFIX

bp = Blueprint("api_openapi", __name__, url_prefix=API_PREFIX)

ERROR = {"$ref": "#/components/schemas/Error"}
SEVERITY = {"type": "string", "enum": ["critical", "high", "medium", "low", "info"]}
ID = {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}


def _errors(*codes: int) -> dict[str, Any]:
    text = {
        400: "Invalid parameters or report",
        401: "Missing, invalid, revoked or expired API key",
        403: "The key's scopes do not allow this",
        404: "No such object, or outside the key's projects",
        413: "Upload larger than the configured limit",
        415: "Unsupported content type",
        429: "Too many requests",
    }
    return {
        str(c): {"description": text[c], "content": {"application/json": {"schema": ERROR}}} for c in codes
    }


def _project_id() -> dict[str, Any]:
    return {"name": "project_id", "in": "path", "required": True, "schema": ID}


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"200": {"description": description, "content": {"application/json": {"schema": schema}}}}


def _file(media_types: list[str], description: str) -> dict[str, Any]:
    return {
        "200": {
            "description": description,
            "headers": {
                "X-Vigil-SHA256": {"description": "SHA-256 of the file", "schema": {"type": "string"}},
                "Content-Disposition": {
                    "description": "Server-chosen file name",
                    "schema": {"type": "string"},
                },
            },
            "content": {m: {"schema": {} if m.endswith("json") else {"type": "string"}} for m in media_types},
        }
    }


EXCEPTION = {
    "type": "object",
    "required": ["id", "scope", "state", "expires_at"],
    "properties": {
        "id": {"type": "integer"},
        "scope": {"type": "string", "enum": ["finding", "advisory", "rule"]},
        "state": {"type": "string", "enum": ["pending", "active", "rejected", "revoked", "expired"]},
        "project_id": {"type": ["integer", "null"]},
        "finding_id": {"type": ["integer", "null"]},
        "advisory_id": {"type": ["string", "null"]},
        "aliases": {"type": "array", "items": {"type": "string"}},
        "package": {"type": ["string", "null"]},
        "rule_id": {"type": ["string", "null"]},
        "path_glob": {"type": ["string", "null"]},
        "severity": {"oneOf": [SEVERITY, {"type": "null"}]},
        "owner": {"type": "string"},
        "ticket_url": {"type": ["string", "null"]},
        "justification": {"type": "string"},
        "mitigation": {"type": "string"},
        "requested_by_id": {"type": "integer"},
        "requested_at": {"type": "string", "format": "date-time"},
        "decided_by_id": {"type": ["integer", "null"]},
        "decided_at": {"type": ["string", "null"], "format": "date-time"},
        "expires_at": {"type": "string", "format": "date-time"},
        "renews_id": {"type": ["integer", "null"]},
        "group_key": {"type": ["string", "null"]},
        "needs_review": {"type": "boolean"},
        "stale": {"type": "boolean"},
        "matched_count": {"type": "integer"},
    },
}

GATE_RESULT = {
    "type": "object",
    "required": ["project", "result", "fail_on", "blocking_count", "blocking"],
    "properties": {
        "project": {"type": "string"},
        "result": {"type": "string", "enum": ["pass", "fail"]},
        "fail_on": SEVERITY,
        "new_since_run_id": {"type": ["integer", "null"]},
        "blocking_count": {"type": "integer", "minimum": 0},
        "blocking": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "severity", "rule_id", "title"],
                "properties": {
                    "id": {"type": "integer"},
                    "severity": SEVERITY,
                    "rule_id": {"type": "string"},
                    "title": {"type": "string"},
                    "path": {"type": ["string", "null"]},
                    "line": {"type": ["integer", "null"]},
                    "package": {"type": ["string", "null"]},
                    "first_seen": {"type": "string", "format": "date-time"},
                },
            },
        },
    },
}

IMPORT_RESULT = {
    "type": "object",
    "required": ["run_id", "project_id", "format", "scanner", "duplicate", "new", "unchanged", "fixed"],
    "properties": {
        "run_id": {"type": "integer"},
        "project_id": {"type": "integer"},
        "format": {"type": "string"},
        "scanner": {"type": "string"},
        "duplicate": {"type": "boolean"},
        "complete": {"type": "boolean"},
        "closed_nothing": {"type": "boolean"},
        **{
            k: {"type": "integer", "minimum": 0}
            for k in ("new", "unchanged", "reopened", "fixed", "suppressed", "total")
        },
    },
}

PATHS: dict[str, dict[str, Any]] = {
    "/projects/{project_id}/gate": {
        "get": {
            "operationId": "gate",
            "summary": "May this build pass? Open findings at or above fail_on block; accepted never do.",
            "parameters": [
                _project_id(),
                {"name": "fail_on", "in": "query", "schema": {**SEVERITY, "default": "high"}},
                {
                    "name": "new_since",
                    "in": "query",
                    "description": "'baseline' or a scan run id: only findings first seen after it block",
                    "schema": {"type": "string", "pattern": "^(baseline|[1-9][0-9]{0,8})$"},
                },
            ],
            "responses": {
                **_json(GATE_RESULT),
                **_errors(400, 401, 403, 404),
                "409": {
                    "description": "new_since=baseline but the project has no baseline",
                    "content": {"application/json": {"schema": ERROR}},
                },
            },
            "x-scope": "gate",
        }
    },
    "/projects/{project_id}/imports": {
        "post": {
            "operationId": "importReport",
            "summary": "Upload a scanner report; the same bytes twice are one run (200 the second time).",
            "parameters": [_project_id()],
            "requestBody": {
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "required": ["report"],
                            "properties": {
                                "report": {"type": "string", "format": "binary"},
                                "format": {"type": "string", "default": "auto"},
                            },
                        }
                    }
                },
            },
            "responses": {
                **{
                    code: {
                        "description": text,
                        "content": {"application/json": {"schema": IMPORT_RESULT}},
                    }
                    for code, text in (("200", "Already imported: nothing changed"), ("201", "Imported"))
                },
                **_errors(400, 401, 403, 404, 413, 415),
            },
            "x-scope": "upload",
        }
    },
    "/reports/{fmt}": {
        "get": {
            "operationId": "exportReport",
            "summary": "Compliance export; its SHA-256 is recorded in the audit log.",
            "parameters": [
                {
                    "name": "fmt",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "enum": ["pdf", "xlsx", "csv", "json", "sarif"]},
                },
                {"name": "as_of", "in": "query", "schema": {"type": "string", "format": "date"}},
                {
                    "name": "period_days",
                    "in": "query",
                    "schema": {"type": "integer", "minimum": 1, "maximum": 3660, "default": 30},
                },
                {"name": "project", "in": "query", "schema": {"type": "array", "items": {"type": "string"}}},
            ],
            "responses": {
                **_file(
                    [
                        "application/pdf",
                        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        "text/csv",
                        "application/json",
                        "application/sarif+json",
                    ],
                    "The export",
                ),
                **_errors(400, 401, 403, 404),
            },
            "x-scope": "read",
        }
    },
    "/exceptions": {
        "get": {
            "operationId": "listExceptions",
            "summary": "Accepted-risk exceptions visible to the key.",
            "parameters": [
                {
                    "name": "state",
                    "in": "query",
                    "schema": {
                        "type": "string",
                        "enum": ["pending", "active", "rejected", "revoked", "expired"],
                    },
                },
                {"name": "project_id", "in": "query", "schema": ID},
            ],
            "responses": {
                **_json(
                    {
                        "type": "object",
                        "required": ["exceptions"],
                        "properties": {"exceptions": {"type": "array", "items": EXCEPTION}},
                    }
                ),
                **_errors(400, 401, 403),
            },
            "x-scope": "read",
        }
    },
    "/exceptions/{exception_id}": {
        "get": {
            "operationId": "getException",
            "summary": "One exception.",
            "parameters": [
                {
                    "name": "exception_id",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "integer", "minimum": 1},
                }
            ],
            "responses": {**_json(EXCEPTION), **_errors(401, 403, 404)},
            "x-scope": "read",
        }
    },
    "/projects/{project_id}/exceptions/export": {
        "get": {
            "operationId": "exportExceptions",
            "summary": "A project's active exceptions as pip-audit arguments, osv-scanner.toml or JSON.",
            "parameters": [
                _project_id(),
                {
                    "name": "format",
                    "in": "query",
                    "schema": {
                        "type": "string",
                        "enum": ["json", "pip-audit", "osv-scanner"],
                        "default": "json",
                    },
                },
            ],
            "responses": {
                "200": {
                    "description": "The ignore file",
                    "content": {
                        "application/json": {"schema": {}},
                        "application/toml": {"schema": {"type": "string"}},
                        "text/plain": {"schema": {"type": "string"}},
                    },
                },
                **_errors(400, 401, 403, 404),
            },
            "x-scope": "read",
        }
    },
}


def document() -> dict[str, Any]:
    """The whole OpenAPI 3.1 document."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Vigil API",
            "version": "1",
            "description": (
                "CI uploads, gate checks and evidence exports. Authenticate with "
                "`Authorization: Bearer vigil_<prefix>_<secret>`; "
                "keys in URLs and session cookies are refused."
            ),
        },
        "servers": [{"url": API_PREFIX}],
        "security": [{"apiKey": []}],
        "paths": PATHS,
        "components": {
            "securitySchemes": {
                "apiKey": {"type": "http", "scheme": "bearer", "bearerFormat": "vigil_<prefix>_<secret>"}
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": {"type": "string"},
                        "detail": {"type": "string"},
                        "request_id": {"type": ["string", "null"]},
                    },
                }
            },
        },
    }


@bp.get("/openapi.json")
@public
def openapi() -> Response:
    return jsonify(document())
