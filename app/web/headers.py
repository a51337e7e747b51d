"""Security headers on every response, and the request id that ties logs, errors and audit rows.

The CSP forbids inline script and style outright: templates load htmx and the chart code from
``static/``, and htmx runs with ``allowEval: false``.
"""

from __future__ import annotations

import re
import secrets

from flask import Flask, Response, g, request

from app.logging_setup import request_id_var

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ]
)
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def current_request_id() -> str | None:
    return request_id_var.get()


def init_app(app: Flask) -> None:
    production = app.config["VIGIL"].is_production

    @app.before_request
    def _assign_request_id() -> None:
        incoming = request.headers.get("X-Request-ID", "")
        rid = incoming if _REQUEST_ID.match(incoming) else secrets.token_hex(8)
        g.request_id = rid
        request_id_var.set(rid)

    @app.after_request
    def _security_headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
        headers["X-Frame-Options"] = "DENY"
        headers["Cross-Origin-Opener-Policy"] = "same-origin"
        headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
        if production or request.is_secure:
            headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
        if "request_id" in g:
            headers["X-Request-ID"] = g.request_id
        if not request.path.startswith("/static/"):
            headers["Cache-Control"] = "no-store"
            headers["Pragma"] = "no-cache"
        if "HX-Request" not in headers.get("Vary", ""):
            headers.add("Vary", "HX-Request")
        return response
