"""Projects: register, list, change and remove the repositories Vigil scans.

Every path and URL is validated here, once, because it later reaches subprocess argument lists
(git, scanners): no traversal, no shell metacharacters, nothing that git could read as an option.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import VigilError
from app.models import Project
from app.models.project import DEFAULT_SCANNERS
from app.services import audit
from app.services.actor import Actor
from app.services.permissions import NotFound, require, require_project

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,119}$")
UNSAFE_CHARS = re.compile(r"[;&|`$<>\n\r\x00\\'\"*?]")
GIT_URL_RE = re.compile(r"^(https://|ssh://|file://|git@[A-Za-z0-9.-]+:)[^\s]+$")


class ProjectError(VigilError, ValueError):
    """Bad input for a project operation; one line for humans."""


def validate_local_path(raw: str) -> str:
    if not raw or raw.startswith("-") or UNSAFE_CHARS.search(raw):
        raise ProjectError(f"unsafe repository path {raw!r}")
    if ".." in Path(raw).parts:
        raise ProjectError("repository path must not contain '..'")
    path = Path(raw).expanduser().resolve()
    if not path.is_dir():
        raise ProjectError(f"repository path {str(path)!r} does not exist or is not a directory")
    return str(path)


def validate_git_url(raw: str) -> str:
    url = raw.strip()
    if url.startswith("-") or UNSAFE_CHARS.search(url) or "::" in url or not GIT_URL_RE.match(url):
        raise ProjectError(f"unsupported or unsafe git URL {raw!r} (https://, ssh://, git@host: or file://)")
    if ".." in url.split("/"):
        raise ProjectError("git URL must not contain '..'")
    return url


def validate_name(raw: str) -> str:
    name = raw.strip()
    if not NAME_RE.match(name):
        raise ProjectError("project name must be 1-120 characters: letters, digits, space, '.', '_' or '-'")
    return name


def get_by_name(session: Session, name: str) -> Project | None:
    return session.scalar(select(Project).where(Project.name == name.strip()))


def get_project(session: Session, actor: Actor, project_id: int) -> Project:
    require(actor, "project.view")
    project = session.get(Project, project_id)
    if project is None:
        raise NotFound()
    require_project(actor, project.id)
    return project


def add_project(
    session: Session,
    actor: Actor,
    *,
    name: str,
    local_path: str | None = None,
    git_url: str | None = None,
    git_ref: str | None = None,
    scanners: Sequence[str] | None = None,
    schedule_cron: str | None = None,
    timezone: str = "UTC",
    description: str = "",
    **settings: Any,
) -> Project:
    require(actor, "project.manage")
    name = validate_name(name)
    if bool(local_path) == bool(git_url):
        raise ProjectError("give exactly one of a local path or a git URL")
    if get_by_name(session, name) is not None:
        raise ProjectError(f"a project named {name!r} already exists")
    project = Project(
        name=name,
        description=description,
        local_path=validate_local_path(local_path) if local_path else None,
        git_url=validate_git_url(git_url) if git_url else None,
        git_ref=git_ref,
        enabled_scanners=list(scanners) if scanners else list(DEFAULT_SCANNERS),
        timezone=timezone,
        **settings,
    )
    if schedule_cron:
        project.schedule_cron = schedule_cron
    session.add(project)
    session.flush()
    audit.record(
        session,
        actor,
        "project_create",
        object_type="project",
        object_id=project.id,
        after={"name": name, "local_path": project.local_path, "git_url": project.git_url},
    )
    return project


def list_projects(session: Session, actor: Actor) -> Sequence[Project]:
    require(actor, "project.view")
    stmt = select(Project).order_by(Project.name)
    if actor.project_ids is not None:
        stmt = stmt.where(Project.id.in_(actor.project_ids))
    return session.scalars(stmt).all()


def remove_project(session: Session, actor: Actor, name: str) -> None:
    require(actor, "project.manage")
    project = get_by_name(session, name)
    if project is None:
        raise ProjectError(f"no project named {name.strip()!r}")
    audit.record(
        session,
        actor,
        "project_delete",
        object_type="project",
        object_id=project.id,
        before={"name": project.name},
    )
    session.delete(project)


def configure_scans(
    session: Session,
    actor: Actor,
    project: Project,
    *,
    scanners: Sequence[str],
    exclude_paths: Sequence[str],
    dependency_files: Sequence[str],
    git_url: str | None = None,
) -> bool:
    """Set what a project's scans run and skip; audited with before/after. True when anything changed."""
    require(actor, "project.manage")
    wanted: dict[str, Any] = {
        "enabled_scanners": list(scanners),
        "exclude_paths": list(exclude_paths),
        "dependency_files": list(dependency_files),
    }
    if git_url is not None:
        wanted.update(git_url=validate_git_url(git_url), local_path=None)
    before = {key: getattr(project, key) for key in wanted}
    changed = {key: value for key, value in wanted.items() if before[key] != value}
    if not changed:
        return False
    for key, value in changed.items():
        setattr(project, key, value)
    audit.record(
        session,
        actor,
        "project_update",
        object_type="project",
        object_id=project.id,
        before={key: before[key] for key in changed},
        after=changed,
    )
    return True
