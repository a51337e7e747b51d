"""The one permission table: deny by default, checked by services, mirrored by the route sweep.

Each permission names an action on the domain. A role has exactly the permissions listed here;
API keys get permissions from their scopes instead. Add a permission here before using it.
"""

from __future__ import annotations

from app.models.base import ActorType, Role
from app.services.actor import Actor

VIEW = {
    "account.self",  # one's own profile, password, second factor and sessions
    "dashboard.view",
    "project.view",
    "finding.view",
    "scan.view",
    "exception.view",
    "report.export",
}
ANALYST = VIEW | {
    "finding.triage",
    "exception.request",
    "scan.trigger",
    "scan.cancel",
    "report.upload",
}
APPROVER = ANALYST | {
    "exception.decide",
    "exception.revoke",
    "audit.view",
}
ADMIN = APPROVER | {
    "project.manage",
    "user.manage",
    "apikey.manage",
    "settings.manage",
    "advisory.manage",
}

ROLE_PERMISSIONS: dict[Role, frozenset[str]] = {
    Role.VIEWER: frozenset(VIEW),
    Role.ANALYST: frozenset(ANALYST),
    Role.APPROVER: frozenset(APPROVER),
    Role.ADMIN: frozenset(ADMIN),
}

SCOPE_PERMISSIONS: dict[str, frozenset[str]] = {
    "upload": frozenset({"report.upload"}),
    "read": frozenset({"project.view", "finding.view", "scan.view", "exception.view", "report.export"}),
    "gate": frozenset({"gate.check"}),
    "scan": frozenset({"scan.trigger", "scan.view"}),
}

ALL_PERMISSIONS = frozenset().union(*ROLE_PERMISSIONS.values(), *SCOPE_PERMISSIONS.values())

# Roles that see every project; analysts and viewers see only projects they are members of.
ALL_PROJECT_ROLES = frozenset({Role.ADMIN, Role.APPROVER})


class PermissionDenied(Exception):
    """The actor may not do this. Views turn it into 403 (or 404 when the object is hidden)."""

    def __init__(self, permission: str, object_ref: str | None = None) -> None:
        super().__init__(permission)
        self.permission = permission
        self.object_ref = object_ref


class NotFound(Exception):
    """The object does not exist or is outside the actor's projects: the two look the same."""


def permissions_of(actor: Actor) -> frozenset[str]:
    if actor.type is ActorType.SYSTEM:
        return ALL_PERMISSIONS
    if actor.type is ActorType.API_KEY:
        return frozenset().union(*(SCOPE_PERMISSIONS.get(s, frozenset()) for s in actor.scopes))
    if actor.role is None:
        return frozenset()
    return ROLE_PERMISSIONS.get(actor.role, frozenset())


def can(actor: Actor, permission: str) -> bool:
    if permission not in ALL_PERMISSIONS:
        raise KeyError(f"unknown permission {permission!r}")
    return permission in permissions_of(actor)


def require(actor: Actor, permission: str, object_ref: str | None = None) -> None:
    if not can(actor, permission):
        raise PermissionDenied(permission, object_ref)


def require_project(actor: Actor, project_id: int) -> None:
    """Hide other teams' projects entirely: outside your projects, an object does not exist."""
    if not actor.can_see_project(project_id):
        raise NotFound()
