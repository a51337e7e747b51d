"""Exception pages: list, request (with a preview of what it matches), detail, decide, renew, revoke, review.

Views only parse the form, call one service and render; state changes are POST only (a GET on an
action URL is 405) and decisions need a fresh sign-in. Bad input re-renders the form with the
reason and status 400, keeping what the user typed.
"""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, request, url_for
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from app.models import ExceptionScope, ExceptionState
from app.services import exception_decisions as decisions
from app.services import exception_queries as queries
from app.services import exception_requests
from app.services import exception_review as review
from app.services.exception_policy import ExceptionInputError, ExpiryPolicy, parse_expiry_date
from app.web.access import current_actor, fresh_auth_required, policy
from app.web.database import db_session
from app.web.render import page

bp = Blueprint("exceptions", __name__, url_prefix="/exceptions")


def expiry_policy() -> ExpiryPolicy:
    return ExpiryPolicy.from_settings(current_app.config["VIGIL"])


def _int(raw: str | None, what: str) -> int | None:
    if raw is None or raw.strip() == "":
        return None
    if not raw.strip().isdigit():
        raise ExceptionInputError(f"{what} must be a number")
    return int(raw)


def _words(raw: str | None) -> list[str]:
    return [w for w in (raw or "").replace(",", " ").split() if w]


def parse_request(form: MultiDict[str, str]) -> exception_requests.ExceptionRequest:
    try:
        scope = ExceptionScope(form.get("scope", ""))
    except ValueError:
        raise ExceptionInputError("choose what the exception covers: finding, advisory or rule") from None
    projects = [_int(p, "a project") for p in form.getlist("project_id")]
    return exception_requests.ExceptionRequest(
        scope=scope,
        justification=form.get("justification", ""),
        mitigation=form.get("mitigation", ""),
        owner=form.get("owner", ""),
        ticket_url=form.get("ticket_url") or None,
        expires_at=parse_expiry_date(form.get("expires_at")),
        finding_id=_int(form.get("finding_id"), "the finding"),
        project_ids=[p for p in projects if p is not None],
        all_projects=form.get("all_projects") == "1",
        advisory_id=form.get("advisory_id") or None,
        aliases=_words(form.get("aliases")),
        package=form.get("package") or None,
        rule_id=form.get("rule_id") or None,
        path_glob=form.get("path_glob") or None,
    )


@bp.get("")
@policy("exception.view")
def index() -> Response:
    raw_state = request.args.get("state", "")
    state = ExceptionState(raw_state) if raw_state in {s.value for s in ExceptionState} else None
    project_id = request.args.get("project_id", type=int)
    session = db_session()
    rows = queries.list_exceptions(session, current_actor(), state=state, project_id=project_id)
    names = queries.project_names(session, [r.project_id for r in rows])
    return page(
        "exceptions/page.html",
        "exceptions/_fragment.html",
        exceptions=rows,
        names=names,
        state=raw_state,
        states=[s.value for s in ExceptionState],
    )


def _form(status: int = 200, error: str | None = None, form: MultiDict[str, str] | None = None) -> Response:
    # ``?finding_id=N`` (and ``?finding=N``, as the finding page links it) prefills the form.
    from_link = request.args.get("finding_id", type=int) or request.args.get("finding", type=int)
    finding_id = from_link or (form and _safe_int(form.get("finding_id")))
    context = queries.request_form(db_session(), current_actor(), finding_id or None)
    return page(
        "exceptions/new.html",
        "exceptions/_form.html",
        status,
        ctx=context,
        form=form or MultiDict(),
        error=error,
        policy=expiry_policy(),
    )


def _safe_int(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isdigit() else None


@bp.get("/new")
@policy("exception.request")
def new() -> Response:
    return _form()


@bp.post("/new")
@policy("exception.request")
def create() -> Response:
    try:
        rows = exception_requests.request_exception(
            db_session(), current_actor(), parse_request(request.form), expiry_policy()
        )
    except ExceptionInputError as exc:
        return _form(400, str(exc), request.form)
    flash(
        f"Requested exception #{rows[0].id}" + (f" for {len(rows)} projects" if len(rows) > 1 else "") + "."
    )
    return redirect(url_for("exceptions.show", exception_id=rows[0].id), code=303)


@bp.get("/preview")
@policy("exception.request")
def preview() -> Response:
    """What the request in the form would match now (htmx swaps this under the form)."""
    try:
        matched = exception_requests.preview(db_session(), current_actor(), parse_request(request.args))
        error = None
    except ExceptionInputError as exc:
        matched, error = [], str(exc)
    names = queries.project_names(db_session(), [f.project_id for f in matched])
    return page(
        "exceptions/_preview.html", "exceptions/_preview.html", findings=matched, error=error, names=names
    )


@bp.get("/<int:exception_id>")
@policy("exception.view")
def show(exception_id: int) -> Response:
    info = queries.detail(db_session(), current_actor(), exception_id)
    return page("exceptions/detail.html", "exceptions/_detail.html", info=info, actor=current_actor())


def _after_action(exception_id: int, message: str) -> Response:
    flash(message)
    return redirect(url_for("exceptions.show", exception_id=exception_id), code=303)


def _action_failed(exception_id: int, exc: ExceptionInputError) -> Response:
    info = queries.detail(db_session(), current_actor(), exception_id)
    return page(
        "exceptions/detail.html",
        "exceptions/_detail.html",
        400,
        info=info,
        actor=current_actor(),
        error=str(exc),
    )


def _decide(decide: decisions.Decision, exception_id: int, field: str, done: str) -> Response:
    """One decision with the text the form sends in ``field``; a refusal re-renders the detail page."""
    try:
        decide(db_session(), current_actor(), exception_id, request.form.get(field, ""))
    except ExceptionInputError as exc:
        return _action_failed(exception_id, exc)
    return _after_action(exception_id, done)


@bp.post("/<int:exception_id>/approve")
@policy("exception.decide")
@fresh_auth_required
def approve(exception_id: int) -> Response:
    return _decide(decisions.approve, exception_id, "comment", f"Exception #{exception_id} approved.")


@bp.post("/<int:exception_id>/reject")
@policy("exception.decide")
@fresh_auth_required
def reject(exception_id: int) -> Response:
    return _decide(decisions.reject, exception_id, "comment", f"Exception #{exception_id} rejected.")


@bp.post("/<int:exception_id>/revoke")
@policy("exception.revoke")
def revoke(exception_id: int) -> Response:
    done = f"Exception #{exception_id} revoked; its findings are open again."
    return _decide(decisions.revoke, exception_id, "reason", done)


@bp.post("/<int:exception_id>/renew")
@policy("exception.request")
def renew(exception_id: int) -> Response:
    try:
        row = exception_requests.renew(
            db_session(),
            current_actor(),
            exception_id,
            expires_at=parse_expiry_date(request.form.get("expires_at")),
            justification=request.form.get("justification", ""),
            policy=expiry_policy(),
        )
    except ExceptionInputError as exc:
        return _action_failed(exception_id, exc)
    return _after_action(row.id, f"Renewal #{row.id} requested; it needs an approval.")


@bp.get("/review")
@policy("exception.view")
def review_queue() -> Response:
    days = expiry_policy().review_days
    items = review.review_queue(db_session(), current_actor(), days=days)
    names = queries.project_names(db_session(), [i.exception.project_id for i in items])
    return page("exceptions/review.html", "exceptions/_review.html", items=items, days=days, names=names)
