"""Who is acting: every service call receives one, so checks and audit rows never guess.

Services never read ``flask.g`` or ``current_app``; the web layer, the CLI, the scheduler and the
workers each build an :class:`Actor` and pass it in.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.models.base import ActorType, Role


@dataclass(frozen=True)
class Actor:
    type: ActorType
    id: int | None
    label: str
    role: Role | None = None
    # None means every project (admins, approvers, system, unrestricted keys).
    project_ids: frozenset[int] | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)
    ip: str | None = None
    request_id: str | None = None

    @classmethod
    def system(cls, label: str = "system") -> Actor:
        return cls(type=ActorType.SYSTEM, id=None, label=label)

    @classmethod
    def cli(cls, label: str = "cli") -> Actor:
        """The local operator at the server's console: trusted like the system."""
        return cls(type=ActorType.SYSTEM, id=None, label=label)

    @property
    def is_user(self) -> bool:
        return self.type is ActorType.USER

    def can_see_project(self, project_id: int) -> bool:
        return self.project_ids is None or project_id in self.project_ids
