"""Reading the audit log: filter by action, actor, object and date range, newest first, paged.

Filters are allow-listed columns with bound parameters; a page never loads more than ``per_page``
rows plus one (to know whether there is a next page), so the log can grow without slowing the view.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from app.models import AuditEvent
from app.services.actor import Actor
from app.services.audit import ChainBreak, verify_chain
from app.services.permissions import require

PER_PAGE = 50


@dataclass(frozen=True)
class AuditFilter:
    action: str = ""
    actor: str = ""
    object_type: str = ""
    object_id: str = ""
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class AuditPage:
    rows: Sequence[AuditEvent]
    page: int
    has_next: bool


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _filtered(filters: AuditFilter) -> Select[Any]:
    stmt = select(AuditEvent)
    if filters.action:
        stmt = stmt.where(AuditEvent.action == filters.action)
    if filters.actor:
        stmt = stmt.where(AuditEvent.actor.ilike(f"%{_escape_like(filters.actor)}%", escape="\\"))
    if filters.object_type:
        stmt = stmt.where(AuditEvent.object_type == filters.object_type)
    if filters.object_id:
        stmt = stmt.where(AuditEvent.object_id == filters.object_id)
    if filters.since is not None:
        stmt = stmt.where(AuditEvent.at >= filters.since)
    if filters.until is not None:
        stmt = stmt.where(AuditEvent.at < filters.until)
    return stmt


def search(session: Session, actor: Actor, filters: AuditFilter, page: int = 1) -> AuditPage:
    require(actor, "audit.view")
    page = max(1, page)
    rows = session.scalars(
        _filtered(filters).order_by(AuditEvent.id.desc()).offset((page - 1) * PER_PAGE).limit(PER_PAGE + 1)
    ).all()
    return AuditPage(rows[:PER_PAGE], page, len(rows) > PER_PAGE)


def known_actions(session: Session) -> list[str]:
    return sorted(session.scalars(select(AuditEvent.action).distinct()))


def verify(session: Session, actor: Actor) -> ChainBreak | None:
    require(actor, "audit.view")
    return verify_chain(session)
