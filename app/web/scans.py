"""Scan runs: history, a run page whose status polls while the run is active, and cancel.

The live part is the fragment: while a run is queued or running it carries
``hx-trigger="every 2s"`` and htmx polls it; once the run ends the fragment comes back without the
trigger, so polling stops by itself. Queueing and cancelling are the scheduler's use cases
(``app.services.scans``).
"""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, request, url_for
from werkzeug.wrappers import Response

from app.errors import VigilError
from app.execution import dispatcher
from app.models import RunStatus, RunTrigger
from app.services import project_overview
from app.services import scans as scan_service
from app.web.access import current_actor, policy
from app.web.database import db_session
from app.web.errors import error_response
from app.web.render import page

bp = Blueprint("scans", __name__, url_prefix="/scans")


@bp.errorhandler(VigilError)
def _bad_request(exc: VigilError) -> Response:
    return error_response(400, "Bad Request", str(exc))


def queue_scan(project_id: int) -> scan_service.QueuedScans:
    """Queue every enabled scanner of a project now; the runs start once the request commits."""
    return scan_service.queue_scans(
        db_session(),
        current_actor(),
        project_id,
        trigger=RunTrigger.MANUAL,
        dispatch=dispatcher(current_app.config["VIGIL"]),
    )


def _int_arg(name: str) -> int | None:
    raw = request.args.get(name, "")
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 12:
        raise project_overview.ScheduleError(f"'{name}' must be a number")
    return int(raw)


@bp.get("")
@policy("scan.view")
def index() -> Response:
    raw_status = request.args.get("status", "")
    statuses: tuple[RunStatus, ...] = ()
    if raw_status:
        if raw_status not in {s.value for s in RunStatus}:
            raise project_overview.ScheduleError(
                f"unknown status; choose from {', '.join(s.value for s in RunStatus)}"
            )
        statuses = (RunStatus(raw_status),)
        if statuses == (RunStatus.FAILED,):
            statuses = (RunStatus.FAILED, RunStatus.TIMED_OUT)
    project_id = _int_arg("project")
    rows, next_before = project_overview.list_runs(
        db_session(), current_actor(), project_id=project_id, statuses=statuses, before_id=_int_arg("before")
    )
    return page(
        "scans/page.html",
        "scans/_fragment.html",
        rows=rows,
        next_before=next_before,
        chosen_status=raw_status,
        project_id=project_id,
        statuses=[s.value for s in RunStatus],
    )


@bp.get("/<int:run_id>")
@policy("scan.view")
def detail(run_id: int) -> Response:
    run, project = project_overview.get_run(db_session(), current_actor(), run_id)
    return page("scans/detail.html", "scans/_run.html", run=run, project=project)


@bp.post("/<int:run_id>/cancel")
@policy("scan.cancel")
def cancel(run_id: int) -> Response:
    scan_service.cancel_run(db_session(), current_actor(), run_id)
    flash("Cancellation requested.", "info")
    return redirect(url_for("scans.detail", run_id=run_id))
