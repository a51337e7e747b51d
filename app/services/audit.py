"""Append-only, hash-chained audit log.

Each row's hash covers its content and the previous row's hash, so removing or editing a row
(behind the database triggers' back) breaks the chain at that point. Writers serialize on the
chain: SQLite write transactions already hold the database lock (BEGIN IMMEDIATE); PostgreSQL
takes a transaction-scoped advisory lock before reading the last hash.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.models import AuditEvent
from app.models.base import ActorType, utcnow
from app.services.actor import Actor

GENESIS = "0" * 64
AUDIT_LOCK_KEY = 0x56494749  # "VIGI"
SECRET_KEYS = re.compile(r"pass(word)?|secret|token|api_?key|cookie|csrf|session|otp|authorization", re.I)


def _scrub(value: Any) -> Any:
    """Drop anything that looks like a secret from before/after payloads."""
    if isinstance(value, Mapping):
        return {str(k): ("[redacted]" if SECRET_KEYS.search(str(k)) else _scrub(v)) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_scrub(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def _one_line(value: str | None, limit: int = 255) -> str | None:
    if value is None:
        return None
    return value.encode("unicode_escape").decode("ascii")[:limit]


def row_hash(prev_hash: str, fields: Mapping[str, Any]) -> str:
    canonical = orjson.dumps(dict(fields), option=orjson.OPT_SORT_KEYS, default=str)
    return hashlib.sha256(prev_hash.encode() + b"\n" + canonical).hexdigest()


def _hashed_fields(event: AuditEvent) -> dict[str, Any]:
    return {
        "at": event.at.isoformat(),
        "actor_type": ActorType(event.actor_type).value,
        "actor_id": event.actor_id,
        "actor": event.actor,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "result": event.result,
        "before": event.before,
        "after": event.after,
        "ip": event.ip,
        "request_id": event.request_id,
    }


def _lock_chain(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": AUDIT_LOCK_KEY})


def record(
    session: Session,
    actor: Actor,
    action: str,
    *,
    object_type: str | None = None,
    object_id: str | int | None = None,
    result: str = "success",
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Append one event in the caller's transaction (it lands or not with the change it records)."""
    _lock_chain(session)
    last = session.execute(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)).scalar()
    event = AuditEvent(
        at=utcnow(),
        actor_type=actor.type,
        actor_id=actor.id,
        actor=_one_line(actor.label) or "unknown",
        action=action,
        object_type=object_type,
        object_id=_one_line(None if object_id is None else str(object_id), 64),
        result=result,
        before=_scrub(before) if before is not None else None,
        after=_scrub(after) if after is not None else None,
        ip=_one_line(actor.ip, 64),
        request_id=actor.request_id,
        prev_hash=last or GENESIS,
        hash="",
    )
    # Hash exactly what the database will return (microsecond precision, UTC).
    event.hash = row_hash(event.prev_hash, _hashed_fields(event))
    session.add(event)
    session.flush()
    return event


@dataclass(frozen=True)
class ChainBreak:
    event_id: int
    reason: str


def verify_chain(session: Session, batch: int = 5000) -> ChainBreak | None:
    """Walk the whole chain; return the first broken row, or None if it is intact."""
    prev = GENESIS
    for event in _iter_events(session, batch):
        if event.prev_hash != prev:
            return ChainBreak(event.id, "previous-hash link does not match the row before it")
        if row_hash(event.prev_hash, _hashed_fields(event)) != event.hash:
            return ChainBreak(event.id, "row content does not match its hash")
        prev = event.hash
    return None


def _iter_events(session: Session, batch: int) -> Iterator[AuditEvent]:
    last_id = 0
    while True:
        rows = session.scalars(
            select(AuditEvent).where(AuditEvent.id > last_id).order_by(AuditEvent.id).limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        last_id = rows[-1].id
        session.expunge_all()
