"""JSON-or-HTML error pages that never echo exception text, SQL or a stack trace.

Every error page carries the request id, so an operator can find the full story in the logs
while the user sees nothing an attacker could use.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, g, jsonify, make_response, render_template, request
from werkzeug.exceptions import HTTPException

log = logging.getLogger("vigil.web")
COPIED_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate", "Location")


def wants_json() -> bool:
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return (
        best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]
    )


def error_response(status: int, title: str, detail: str = "") -> Response:
    """The one error body Vigil sends: generic text plus the request id."""
    rid = g.get("request_id")
    if wants_json():
        response = jsonify(error=title, detail=detail, request_id=rid)
    else:
        html = render_template("errors/error.html", status=status, title=title, detail=detail, request_id=rid)
        response = make_response(html)
    response.status_code = status
    return response


def init_app(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        if exc.code is None:
            return make_response(exc.get_response())
        if exc.code >= 500:
            log.error("http error %s", exc.code)
        response = error_response(exc.code, exc.name, exc.description or "")
        original = exc.get_response()
        for header in COPIED_HEADERS:
            if header in original.headers:
                response.headers[header] = original.headers[header]
        return response

    @app.errorhandler(Exception)
    def _unhandled(exc: Exception) -> Response:
        log.exception("unhandled error in %s %s", request.method, request.path)
        return error_response(
            500,
            "Internal Server Error",
            "Something went wrong on our side. Quote the request id to your administrator.",
        )
