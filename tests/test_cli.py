"""The foundation CLI: users and projects, with one clear line and a non-zero exit on bad input."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import Database
from app.models import AuditEvent, Project, Role, User
from tests.conftest import VigilRunner


def test_users_create_list_set_role_disable(runner: VigilRunner, database: Database) -> None:
    result = runner.invoke(["users", "create", "alice", "--role", "analyst"])
    assert result.exit_code == 0, result.output
    assert "one-time password" in result.output
    listed = runner.invoke(["users", "list"])
    assert "alice\tanalyst\tactive" in listed.output
    assert runner.invoke(["users", "set-role", "alice", "approver"]).exit_code == 0
    assert runner.invoke(["users", "disable", "alice"]).exit_code == 0
    with database.reader() as s:
        user = s.scalar(select(User).where(User.username == "alice"))
        assert (
            user is not None and user.role is Role.APPROVER and not user.active and user.must_change_password
        )
        assert user.password_hash.startswith("$argon2id$")
        actions = [e.action for e in s.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert actions == ["user_create", "user_role_change", "user_disable"]


def test_bad_user_input_is_one_line(runner: VigilRunner) -> None:
    bad_role = runner.invoke(["users", "create", "bob", "--role", "overlord"])
    assert bad_role.exit_code == 2
    assert bad_role.output.strip().startswith("error: unknown role")
    assert "Traceback" not in bad_role.output
    assert runner.invoke(["users", "create", "bob"]).exit_code == 0
    duplicate = runner.invoke(["users", "create", "BOB"])
    assert duplicate.exit_code == 2 and "already exists" in duplicate.output
    weak = runner.invoke(["users", "create", "carol", "--password-stdin"], input="Password1!\n")
    assert weak.exit_code == 2 and "error:" in weak.output and len(weak.output.strip().splitlines()) == 1
    missing = runner.invoke(["users", "set-role", "nobody", "viewer"])
    assert missing.exit_code == 2 and "no user" in missing.output and "nobody" in missing.output


def test_projects_add_list_remove(runner: VigilRunner, tmp_path: Path, database: Database) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    assert runner.invoke(["projects", "add", "svc", "--path", str(repo)]).exit_code == 0
    assert "svc" in runner.invoke(["projects", "list"]).output
    dup = runner.invoke(["projects", "add", "svc", "--path", str(repo)])
    assert dup.exit_code == 2 and "already exists" in dup.output
    missing = runner.invoke(["projects", "add", "other", "--path", str(tmp_path / "nope")])
    assert missing.exit_code == 2 and "does not exist" in missing.output
    for unsafe in [f"{repo};rm -rf /", f"{repo}/../repo", "--upload-pack=evil"]:
        bad = runner.invoke(["projects", "add", "evil", "--path", unsafe])
        assert bad.exit_code == 2, unsafe
    bad_url = runner.invoke(["projects", "add", "evil", "--git-url", "ext::sh -c touch% /tmp/pwned"])
    assert bad_url.exit_code == 2
    assert runner.invoke(["projects", "remove", "svc", "--yes"]).exit_code == 0
    with database.reader() as s:
        assert s.scalars(select(Project)).all() == []


def test_first_run_creates_admin_and_demo_project(session: Session) -> None:
    from app.services.actor import Actor
    from app.services.bootstrap import first_run

    result = first_run(session, Actor.cli())
    assert result.admin_username == "admin" and result.admin_password and result.demo_project_id
    again = first_run(session, Actor.cli())
    assert again.admin_password is None and again.demo_project_id is None
    admin = session.scalar(select(User).where(User.username == "admin"))
    assert admin is not None and admin.must_change_password and admin.role is Role.ADMIN
