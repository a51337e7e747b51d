"""One URL, two shapes: the full page for a normal request, only the fragment for htmx.

Both are rendered from the same data, so the page template just includes the fragment; the response
varies on ``HX-Request`` so no cache hands a fragment to a full-page load.
"""

from __future__ import annotations

from typing import Any

from flask import make_response, render_template, request
from werkzeug.wrappers import Response

from app.web.access import is_htmx


def page(page_template: str, fragment_template: str, status: int = 200, **context: Any) -> Response:
    boosted = request.headers.get("HX-Boosted") == "true"
    # Back/forward after hx-push-url: htmx (no history cache) asks for the whole page again.
    restore = request.headers.get("HX-History-Restore-Request") == "true"
    template = fragment_template if is_htmx() and not boosted and not restore else page_template
    response = make_response(render_template(template, **context), status)
    response.vary.add("HX-Request")
    return response
