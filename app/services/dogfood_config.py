"""The committed file behind ``vigil dogfood``: what Vigil excludes and accepts when scanning itself.

Every exclusion and every accepted risk must carry its written reason; a file that lacks one, or
that names the same person as requester and approver, is refused as a whole with the entry's number,
so nothing is half-applied. The file only *describes* decisions: the exception service still checks
them (four eyes, expiry cap) when :mod:`app.services.dogfood` replays them.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

from app.errors import VigilError
from app.models import Severity

CONFIG_NAME = ".vigil-dogfood.toml"
MAX_CONFIG_BYTES = 200_000


class DogfoodConfigError(VigilError, ValueError):
    """The dogfood file is missing, unreadable or incomplete; one line naming the entry."""


@dataclass(frozen=True)
class Exclusion:
    path: str
    reason: str


@dataclass(frozen=True)
class AcceptedRisk:
    """One ``[[accept]]`` entry: a rule accepted in named paths (one exception per path)."""

    number: int
    rule: str
    paths: tuple[str, ...]
    justification: str
    mitigation: str
    owner: str
    requested_by: str
    approved_by: str
    expires: datetime
    ticket_url: str | None = None


@dataclass(frozen=True)
class DogfoodConfig:
    name: str
    scanners: tuple[str, ...]
    dependency_files: tuple[str, ...]
    fail_on: str
    exclusions: tuple[Exclusion, ...]
    accepted: tuple[AcceptedRisk, ...]
    source: str = CONFIG_NAME


def _text(table: dict[str, Any], key: str, where: str, *, required: bool = True) -> str:
    value = table.get(key, "")
    if not isinstance(value, str):
        raise DogfoodConfigError(f"{where}: {key} must be text")
    if required and not value.strip():
        raise DogfoodConfigError(f"{where}: {key} is required")
    return value.strip()


def _texts(table: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise DogfoodConfigError(f"{where}: {key} must be a list of non-empty strings")
    return tuple(v.strip() for v in value)


def _expiry(value: Any, where: str) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(23, 59), tzinfo=UTC)
    raise DogfoodConfigError(f"{where}: expires must be a date (expires = 2027-01-31)")


def _exclusion(item: Any, number: int) -> Exclusion:
    where = f"exclude entry {number}"
    if not isinstance(item, dict):
        raise DogfoodConfigError(f"{where}: must be a table ([[exclude]])")
    path = _text(item, "path", where)
    if path.startswith("/") or ".." in path.split("/"):
        raise DogfoodConfigError(f"{where}: path must be relative to the repository, without '..'")
    return Exclusion(path.rstrip("/"), _text(item, "reason", where))


def _accepted(item: Any, number: int) -> AcceptedRisk:
    where = f"accept entry {number}"
    if not isinstance(item, dict):
        raise DogfoodConfigError(f"{where}: must be a table ([[accept]])")
    paths = _texts(item, "paths", where)
    if not paths:
        raise DogfoodConfigError(f"{where}: paths must name at least one file or glob")
    risk = AcceptedRisk(
        number=number,
        rule=_text(item, "rule", where),
        paths=paths,
        justification=_text(item, "justification", where),
        mitigation=_text(item, "mitigation", where),
        owner=_text(item, "owner", where),
        requested_by=_text(item, "requested_by", where),
        approved_by=_text(item, "approved_by", where),
        expires=_expiry(item.get("expires"), where),
        ticket_url=_text(item, "ticket", where, required=False) or None,
    )
    if risk.requested_by.lower() == risk.approved_by.lower():
        raise DogfoodConfigError(f"{where}: requested_by and approved_by must be two different people")
    return risk


def parse(text: str, source: str = CONFIG_NAME) -> DogfoodConfig:
    """Read the file's text; any bad entry refuses the whole file."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DogfoodConfigError(f"{source}: not valid TOML: {exc}") from None
    project = data.get("project", {})
    if not isinstance(project, dict):
        raise DogfoodConfigError(f"{source}: [project] must be a table")
    fail_on = _text(project, "fail_on", "[project]", required=False) or "high"
    if fail_on not in {s.value for s in Severity}:
        raise DogfoodConfigError(f"[project]: fail_on must be one of {', '.join(s.value for s in Severity)}")
    excludes, accepts = data.get("exclude", []), data.get("accept", [])
    if not isinstance(excludes, list) or not isinstance(accepts, list):
        raise DogfoodConfigError(f"{source}: exclude and accept must be arrays of tables")
    if not _texts(project, "scanners", "[project]"):
        raise DogfoodConfigError(f"{source}: [project]: scanners must name at least one scanner")
    try:
        return DogfoodConfig(
            name=_text(project, "name", "[project]"),
            scanners=_texts(project, "scanners", "[project]"),
            dependency_files=_texts(project, "dependency_files", "[project]"),
            fail_on=fail_on,
            exclusions=tuple(_exclusion(item, n) for n, item in enumerate(excludes, start=1)),
            accepted=tuple(_accepted(item, n) for n, item in enumerate(accepts, start=1)),
            source=source,
        )
    except DogfoodConfigError as exc:
        raise DogfoodConfigError(f"{source}: {exc}") from None


def load(path: Path) -> DogfoodConfig:
    """Read and check the file at ``path`` (the repository's ``.vigil-dogfood.toml``)."""
    try:
        if path.stat().st_size > MAX_CONFIG_BYTES:
            raise DogfoodConfigError(f"{path}: larger than {MAX_CONFIG_BYTES:,} bytes")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DogfoodConfigError(f"cannot read {path}: {exc.__class__.__name__}") from None
    return parse(text, path.name)
