"""The audit log viewer for approvers and admins: filters, pages, and the chain check result."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Blueprint, request
from werkzeug.wrappers import Response

from app.services import audit_queries
from app.services.audit_queries import AuditFilter
from app.web.access import current_actor, policy
from app.web.database import db_session
from app.web.render import page

bp = Blueprint("audit", __name__, url_prefix="/admin/audit")


def _day(raw: str | None, *, end: bool = False) -> tuple[datetime | None, str | None]:
    if not raw or not raw.strip():
        return None, None
    try:
        day = datetime.strptime(raw.strip(), "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        return None, f"dates look like 2026-01-31, not {raw.strip()[:40]!r}"
    return (day + timedelta(days=1) if end else day), None


@bp.get("")
@policy("audit.view")
def index() -> Response:
    args = request.args
    since, error_since = _day(args.get("since"))
    until, error_until = _day(args.get("until"), end=True)
    filters = AuditFilter(
        action=args.get("action", "").strip()[:64],
        actor=args.get("actor", "").strip()[:255],
        object_type=args.get("object_type", "").strip()[:64],
        object_id=args.get("object_id", "").strip()[:64],
        since=since,
        until=until,
    )
    page_no = int(args["page"]) if args.get("page", "").isdigit() else 1
    session = db_session()
    result = audit_queries.search(session, current_actor(), filters, page_no)
    error = error_since or error_until
    query = {k: v for k, v in args.items() if k != "page" and v}
    return page(
        "admin/audit.html",
        "admin/_audit_table.html",
        400 if error else 200,
        result=result,
        actions=audit_queries.known_actions(session),
        args=args,
        query=query,
        error=error,
    )
