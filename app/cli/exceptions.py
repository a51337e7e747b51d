"""``vigil exceptions ...``: the accepted-risk workflow from the console.

Requests and decisions name the person acting (``--as``): four eyes mean two named people, even
at the console. Jobs (expire, remind) run as the system.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.cli.context import console_actor, database, settings, transaction
from app.models import ActorType, ExceptionScope, ExceptionState, RiskException, User
from app.security import clock
from app.services import exception_decisions as decisions
from app.services import exception_queries as queries
from app.services import exception_requests, notifications
from app.services import exception_review as review
from app.services import exceptions_as_code as as_code
from app.services import projects as project_service
from app.services.actor import Actor
from app.services.exception_expiry import expire_due
from app.services.exception_policy import ExceptionInputError, ExpiryPolicy, parse_expiry_date
from app.services.permissions import NotFound, PermissionDenied
from app.services.sessions import project_ids_of


def user_actor(session: Session, username: str) -> Actor:
    """Act as a named user, with exactly that user's role and projects."""
    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None or not user.active:
        raise ExceptionInputError(f"no active user named {username!r}")
    projects = project_ids_of(session, user.id, user.role)
    return Actor(type=ActorType.USER, id=user.id, label=user.username, role=user.role, project_ids=projects)


def _project_id(session: Session, name: str) -> int:
    project = project_service.get_by_name(session, name)
    if project is None:
        raise ExceptionInputError(f"no project named {name!r}")
    return project.id


def _policy() -> ExpiryPolicy:
    return ExpiryPolicy.from_settings(settings())


def _decide(
    decide: decisions.Decision,
    exception_id: int,
    username: str,
    text: str,
    done: Callable[[RiskException], str],
) -> None:
    """One decision by the named user in its own transaction; ``done`` words the outcome once committed."""
    with transaction() as session:
        message = done(decide(session, user_actor(session, username), exception_id, text))
    click.echo(message)


class _Group(click.Group):
    """Access refusals become one ``error:`` line like any other bad input (never a traceback)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except NotFound:
            raise ExceptionInputError("no such object (or it is outside that user's projects)") from None
        except PermissionDenied as exc:
            raise ExceptionInputError(f"not allowed: {exc.permission} ({exc.object_ref or 'role'})") from None


@click.group("exceptions", cls=_Group)
def exceptions_group() -> None:
    """Accepted risks: request, approve, reject, revoke, renew, expire, remind, export, import."""


@exceptions_group.command("list")
@click.option("--state", type=click.Choice([s.value for s in ExceptionState]), default=None)
def list_cmd(state: str | None) -> None:
    """List exceptions (newest first)."""
    with transaction() as session:
        rows = queries.list_exceptions(
            session, console_actor(), state=ExceptionState(state) if state else None
        )
        for e in rows:
            what = e.advisory_id or e.rule_id or f"finding {e.finding_id}"
            click.echo(f"{e.id}\t{e.state.value}\t{e.scope.value}\t{what}\t{e.owner}\t{e.expires_at.date()}")


@exceptions_group.command("request")
@click.option("--as", "username", required=True, help="The requesting user.")
@click.option("--finding", "finding_id", type=int, default=None, help="Cover one finding.")
@click.option("--advisory", default=None, help="Cover an advisory id (GHSA/CVE/PYSEC...).")
@click.option("--alias", "aliases", multiple=True)
@click.option("--package", default=None)
@click.option("--rule", "rule_id", default=None, help="Cover a rule (with --path-glob).")
@click.option("--path-glob", default=None)
@click.option("--project", "projects", multiple=True, help="Project name (repeat for a bulk request).")
@click.option("--all-projects", is_flag=True)
@click.option("--justification", required=True)
@click.option("--mitigation", default="")
@click.option("--owner", required=True)
@click.option("--ticket", default=None)
@click.option("--expires", required=True, help="YYYY-MM-DD, within the severity's cap.")
def request_cmd(
    username: str,
    finding_id: int | None,
    advisory: str | None,
    aliases: tuple[str, ...],
    package: str | None,
    rule_id: str | None,
    path_glob: str | None,
    projects: tuple[str, ...],
    all_projects: bool,
    justification: str,
    mitigation: str,
    owner: str,
    ticket: str | None,
    expires: str,
) -> None:
    """Request an exception (it stays pending until another person approves it)."""
    scope = (
        ExceptionScope.FINDING if finding_id else ExceptionScope.ADVISORY if advisory else ExceptionScope.RULE
    )
    with transaction() as session:
        req = exception_requests.ExceptionRequest(
            scope=scope,
            justification=justification,
            mitigation=mitigation,
            owner=owner,
            ticket_url=ticket,
            expires_at=parse_expiry_date(expires),
            finding_id=finding_id,
            advisory_id=advisory,
            aliases=aliases,
            package=package,
            rule_id=rule_id,
            path_glob=path_glob,
            all_projects=all_projects,
            project_ids=[_project_id(session, p) for p in projects],
        )
        rows = exception_requests.request_exception(session, user_actor(session, username), req, _policy())
        for row in rows:
            click.echo(f"requested exception {row.id} (pending, expires {row.expires_at.date()})")


@exceptions_group.command("approve")
@click.argument("exception_id", type=int)
@click.option("--as", "username", required=True, help="The approving user (not the requester).")
@click.option("--comment", default="")
def approve_cmd(exception_id: int, username: str, comment: str) -> None:
    """Approve a pending exception: its findings become accepted at once."""
    _decide(
        decisions.approve,
        exception_id,
        username,
        comment,
        lambda exc: f"approved exception {exc.id}; {exc.matched_count} finding(s) accepted",
    )


@exceptions_group.command("reject")
@click.argument("exception_id", type=int)
@click.option("--as", "username", required=True)
@click.option("--comment", required=True)
def reject_cmd(exception_id: int, username: str, comment: str) -> None:
    """Reject a pending exception with a reason."""
    _decide(decisions.reject, exception_id, username, comment, lambda exc: f"rejected exception {exc.id}")


@exceptions_group.command("revoke")
@click.argument("exception_id", type=int)
@click.option("--as", "username", required=True)
@click.option("--reason", required=True)
def revoke_cmd(exception_id: int, username: str, reason: str) -> None:
    """Revoke an exception now; its findings reopen."""
    _decide(decisions.revoke, exception_id, username, reason, lambda exc: f"revoked exception {exc.id}")


@exceptions_group.command("renew")
@click.argument("exception_id", type=int)
@click.option("--as", "username", required=True)
@click.option("--expires", required=True)
@click.option("--justification", required=True)
def renew_cmd(exception_id: int, username: str, expires: str, justification: str) -> None:
    """Request a renewal (a new pending exception that needs its own approval)."""
    with transaction() as session:
        row = exception_requests.renew(
            session,
            user_actor(session, username),
            exception_id,
            expires_at=parse_expiry_date(expires),
            justification=justification,
            policy=_policy(),
        )
        click.echo(f"requested renewal {row.id} of exception {exception_id}")


@exceptions_group.command("expire")
def expire_cmd() -> None:
    """Expire every active exception past its date now (the scheduler does this on its own)."""
    with transaction() as session:
        summary = expire_due(session, clock.now(), Actor.system("exception-expiry"))
    click.echo(
        f"expired {len(summary.expired)} exception(s); {summary.reopened_findings} finding(s) reopened"
    )


@exceptions_group.command("remind")
def remind_cmd() -> None:
    """Remind owners of exceptions expiring soon, mark stale ones, flag fixable advisories."""
    notifier = notifications.Notifier.from_settings(settings())
    with transaction() as session:
        done = review.run_daily(session, notifier, _policy())
    notifications.send_outstanding(database(), notifier)
    click.echo(
        f"sent {done.reminders} reminder(s); {len(done.stale)} exception(s) became stale; "
        f"flagged {len(done.flagged)} exception(s) for review"
    )


@exceptions_group.command("export")
@click.argument("project")
@click.option("--format", "fmt", type=click.Choice(as_code.FORMATS), default="osv-scanner", show_default=True)
def export_cmd(project: str, fmt: str) -> None:
    """Print the project's approved exceptions as a tool ignore file."""
    with transaction() as session:
        click.echo(as_code.export(session, console_actor(), _project_id(session, project), fmt))


@exceptions_group.command("import")
@click.argument("project")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["osv-scanner", "ignore-list"]), default="osv-scanner")
@click.option("--as", "username", required=True)
@click.option("--owner", required=True)
def import_cmd(project: str, path: Path, fmt: str, username: str, owner: str) -> None:
    """Import an osv-scanner.toml or an ignore list as pending exceptions."""
    try:
        text = path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError) as exc:
        raise ExceptionInputError(f"cannot read {path}: {type(exc).__name__}") from None
    with transaction() as session:
        rows = as_code.import_ignores(
            session,
            user_actor(session, username),
            _project_id(session, project),
            text,
            fmt=fmt,
            owner=owner,
            policy=_policy(),
        )
        click.echo(f"imported {len(rows)} pending exception(s): {', '.join(str(r.id) for r in rows)}")


commands = [exceptions_group]
