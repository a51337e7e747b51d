"""API keys for CI: ``vigil_<prefix>_<secret>``, shown once, stored as a hash, scoped and expiring.

The prefix finds the row without scanning; the secret is 256 random bits, so a plain SHA-256 is a
sound way to store it (a slow password hash protects guessable secrets, these are not guessable).
Keys are accepted only in the ``Authorization`` header: a key in a URL ends up in proxy logs.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.errors import VigilError
from app.models import ApiKey, Project
from app.security import clock
from app.services import audit
from app.services.actor import Actor
from app.services.permissions import SCOPE_PERMISSIONS, NotFound, require

KEY_RE = re.compile(r"^vigil_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,119}$")
SCOPES = tuple(SCOPE_PERMISSIONS)
MAX_EXPIRY_DAYS = 3650
TOUCH_EVERY = timedelta(seconds=60)


class ApiKeyError(VigilError, ValueError):
    """Bad input for an API key operation; one line for humans."""


@dataclass(frozen=True)
class KeyInfo:
    """A detached view of a key that authenticated a request."""

    id: int
    name: str
    scopes: tuple[str, ...]
    project_ids: tuple[int, ...]
    last_used_at: datetime | None


@dataclass(frozen=True)
class CreatedKey:
    key: ApiKey
    secret: str  # the full ``vigil_...`` value, shown once and never stored


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def parse_scopes(values: Iterable[str]) -> list[str]:
    scopes = sorted({v.strip().lower() for v in values if v.strip()})
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown:
        raise ApiKeyError(f"unknown scope {unknown[0]!r}; choose from {', '.join(SCOPES)}")
    if not scopes:
        raise ApiKeyError(f"give at least one scope ({', '.join(SCOPES)})")
    return scopes


def resolve_projects(session: Session, refs: Iterable[str | int]) -> list[int]:
    """Project names or ids to ids; an unknown project is an error, never silently 'all projects'."""
    ids: list[int] = []
    for ref in refs:
        text = str(ref).strip()
        if not text:
            continue
        project = session.scalar(select(Project).where(Project.name == text))
        if project is None and text.isdigit():
            project = session.get(Project, int(text))
        if project is None:
            raise ApiKeyError(f"no project named {text!r}")
        ids.append(project.id)
    return sorted(set(ids))


def create(
    session: Session,
    actor: Actor,
    *,
    name: str,
    scopes: Iterable[str],
    projects: Iterable[str | int] = (),
    expires_days: int | None = 90,
    description: str = "",
) -> CreatedKey:
    require(actor, "apikey.manage")
    clean_name = name.strip()
    if not NAME_RE.match(clean_name):
        raise ApiKeyError("key name must be 1-120 characters: letters, digits, space, '.', '_' or '-'")
    scope_list = parse_scopes(scopes)
    project_ids = resolve_projects(session, projects)
    if expires_days is not None and not 1 <= expires_days <= MAX_EXPIRY_DAYS:
        raise ApiKeyError(f"expiry must be between 1 and {MAX_EXPIRY_DAYS} days")
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    full = f"vigil_{prefix}_{secret}"
    key = ApiKey(
        name=clean_name,
        prefix=prefix,
        secret_hash=_hash(secret),
        scopes=scope_list,
        project_ids=project_ids,
        created_by_id=actor.id if actor.is_user else None,
        created_at=clock.now(),
        expires_at=clock.now() + timedelta(days=expires_days) if expires_days else None,
        description=description.strip()[:2000],
    )
    session.add(key)
    session.flush()
    audit.record(
        session,
        actor,
        "apikey_create",
        object_type="api_key",
        object_id=key.id,
        after={
            "name": clean_name,
            "prefix": prefix,
            "scopes": scope_list,
            "projects": project_ids,
            "expires_at": key.expires_at,
        },
    )
    return CreatedKey(key, full)


def authenticate(session: Session, raw: str) -> KeyInfo | None:
    """The live key for a presented value, or None (unknown, malformed, revoked or expired)."""
    match = KEY_RE.match(raw)
    if match is None:
        return None
    prefix, secret = match.groups()
    key = session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    if key is None or not hmac.compare_digest(key.secret_hash, _hash(secret)):
        return None
    if key.revoked_at is not None or (key.expires_at is not None and key.expires_at <= clock.now()):
        return None
    return KeyInfo(key.id, key.name, tuple(key.scopes), tuple(key.project_ids), key.last_used_at)


def needs_touch(key: KeyInfo) -> bool:
    return key.last_used_at is None or clock.now() - key.last_used_at >= TOUCH_EVERY


def touch(session: Session, key_id: int, ip: str | None) -> None:
    session.execute(
        update(ApiKey)
        .where(ApiKey.id == key_id)
        .values(last_used_at=clock.now(), last_used_ip=(ip or "")[:64])
    )


def _find(session: Session, ref: str | int) -> ApiKey:
    text = str(ref).strip()
    key = session.get(ApiKey, int(text)) if text.isdigit() else None
    if key is None:
        key = session.scalar(select(ApiKey).where((ApiKey.prefix == text) | (ApiKey.name == text)))
    if key is None:
        raise NotFound()
    return key


def revoke(session: Session, actor: Actor, ref: str | int) -> ApiKey:
    """Revoke by id, prefix or name; revoking twice is harmless and recorded once."""
    require(actor, "apikey.manage")
    try:
        key = _find(session, ref)
    except NotFound:
        raise ApiKeyError(f"no API key {str(ref)!r}") from None
    if key.revoked_at is None:
        key.revoked_at = clock.now()
        audit.record(
            session,
            actor,
            "apikey_revoke",
            object_type="api_key",
            object_id=key.id,
            after={"name": key.name, "prefix": key.prefix},
        )
    return key


def list_keys(session: Session, actor: Actor) -> Sequence[ApiKey]:
    require(actor, "apikey.manage")
    return session.scalars(select(ApiKey).order_by(ApiKey.created_at.desc(), ApiKey.id.desc())).all()


def status_of(key: ApiKey) -> str:
    if key.revoked_at is not None:
        return "revoked"
    if key.expires_at is not None and key.expires_at <= clock.now():
        return "expired"
    return "active"
