"""First run of the embedded default: an admin with a one-time password and a demo project.

There is never a default ``admin/admin``: the generated password is shown once and must be changed
at first login.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.demo import SAMPLE_PROJECT
from app.models import Project, Role
from app.security.passwords import generate_password
from app.services import projects, users
from app.services.actor import Actor

DEMO_PROJECT_NAME = "demo-shop"


@dataclass(frozen=True)
class FirstRun:
    admin_username: str | None
    admin_password: str | None
    demo_project_id: int | None


def first_run(session: Session, actor: Actor, *, admin_username: str = "admin") -> FirstRun:
    """Create the first admin and the demo project if the database has none (idempotent)."""
    username = password = None
    if users.count_users(session) == 0:
        password = generate_password()
        users.create_user(
            session,
            actor,
            username=admin_username,
            password=password,
            role=Role.ADMIN,
            display_name="Administrator",
            must_change_password=True,
        )
        username = admin_username
    demo_id = None
    if (session.scalar(select(func.count()).select_from(Project)) or 0) == 0:
        demo = projects.add_project(
            session,
            actor,
            name=DEMO_PROJECT_NAME,
            local_path=str(SAMPLE_PROJECT),
            description="A deliberately vulnerable sample shipped with Vigil.",
            dependency_files=["requirements.txt"],
        )
        demo_id = demo.id
    return FirstRun(username, password, demo_id)
