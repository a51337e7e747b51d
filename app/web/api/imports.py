"""``POST /api/v1/projects/<id>/imports``: CI uploads a scanner report (API key with ``upload`` scope).

The body is refused by size (413) before anything is parsed, and by content type (415) before the
multipart form is read. The report is spooled to a temporary file and handed to the import service,
which owns parsing, idempotency and the single transaction; this view only translates outcomes to
status codes: 201 for a new run, 200 when the same report was already imported.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from flask import Blueprint, Response, current_app, jsonify, request

from app.models import RunTrigger
from app.scanners.base import ReportError
from app.services import imports as import_service
from app.web.access import api_policy, current_actor
from app.web.api import API_PREFIX
from app.web.database import db_session
from app.web.errors import error_response

bp = Blueprint("api_imports", __name__, url_prefix=API_PREFIX)
FIELD = "report"


@bp.post("/projects/<int:project_id>/imports")
@api_policy("report.upload")
def upload(project_id: int) -> Response | tuple[Response, int]:
    limit: int = current_app.config["VIGIL"].max_upload_bytes
    if request.content_length is not None and request.content_length > limit:
        return error_response(413, "Payload Too Large", f"reports are limited to {limit:,} bytes")
    if request.mimetype != "multipart/form-data":
        detail = f"send multipart/form-data with a '{FIELD}' file"
        return error_response(415, "Unsupported Media Type", detail)
    upload = request.files.get(FIELD)
    if upload is None:
        return error_response(400, "Bad Request", f"the multipart form has no '{FIELD}' file")
    fmt = request.form.get("format", "auto").strip() or "auto"
    actor = current_actor()
    with tempfile.TemporaryDirectory(prefix="vigil-upload-") as folder:
        path = Path(folder) / "report"
        with open(path, "wb") as handle:
            shutil.copyfileobj(upload.stream, handle, 1024 * 1024)
        try:
            result = import_service.import_report(
                db_session(),
                actor,
                project_id,
                path,
                fmt=fmt,
                trigger=RunTrigger.API,
                api_key_id=actor.id,
                max_bytes=limit,
            )
        except ReportError as exc:
            return error_response(400, "Bad Request", str(exc))
    return jsonify(result.as_dict()), 200 if result.duplicate else 201
