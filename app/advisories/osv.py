"""OSV records: validate one decoded record and keep only what matching PyPI packages needs.

The store never trusts a record's shape: a mirror file may be truncated, hand-edited or hostile.
Anything odd in the parts Vigil uses becomes one readable ``AdvisoryError`` naming the record;
parts Vigil ignores (other ecosystems, GIT ranges, credits) are dropped without complaint, because
the OSV schema grows and a newer record must not stop an import.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from packaging.utils import canonicalize_name

from app.advisories.severity import record_severity
from app.errors import VigilError

ECOSYSTEM = "PyPI"
ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:+-]{0,119}$")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
MAX_ALIASES = 200
MAX_AFFECTED = 2000
MAX_EVENTS = 500
MAX_VERSIONS = 20_000
MAX_VERSION_LENGTH = 120
EVENT_KINDS = ("introduced", "fixed", "last_affected", "limit")


class AdvisoryError(VigilError, ValueError):
    """An advisory record or source Vigil refuses; one line naming the record and the problem."""


@dataclass(frozen=True, slots=True)
class AffectedPackage:
    """One PyPI package a record affects: ECOSYSTEM ranges as event lists plus explicit versions."""

    name: str
    ranges: tuple[tuple[tuple[str, str], ...], ...]
    versions: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "ranges": [[list(event) for event in events] for events in self.ranges],
            "versions": list(self.versions),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AffectedPackage:
        return cls(
            name=data["name"],
            ranges=tuple(tuple((kind, value) for kind, value in events) for events in data["ranges"]),
            versions=tuple(data["versions"]),
        )

    @property
    def fixed_versions(self) -> tuple[str, ...]:
        return tuple(value for events in self.ranges for kind, value in events if kind == "fixed")


@dataclass(frozen=True, slots=True)
class OsvRecord:
    """The parts of one OSV record that Vigil stores."""

    id: str
    modified: datetime
    published: datetime | None
    withdrawn: datetime | None
    aliases: tuple[str, ...]
    summary: str
    severity: str | None
    severity_source: str
    affected: tuple[AffectedPackage, ...]

    @property
    def packages(self) -> tuple[str, ...]:
        return tuple(sorted({a.name for a in self.affected}))

    @property
    def fixed_versions(self) -> frozenset[str]:
        return frozenset(v for a in self.affected for v in a.fixed_versions)


def parse_time(value: Any, field: str, record_id: str) -> datetime:
    """RFC 3339 timestamps as OSV writes them ("2024-01-02T03:04:05Z", fractions allowed)."""
    if not isinstance(value, str) or len(value) > 64:
        raise AdvisoryError(f"{record_id}: {field} must be an RFC 3339 timestamp")
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise AdvisoryError(f"{record_id}: {field} {value[:40]!r} is not an RFC 3339 timestamp") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _string_list(value: Any, field: str, record_id: str, limit: int) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise AdvisoryError(f"{record_id}: {field} must be a list of strings")
    if len(value) > limit:
        raise AdvisoryError(f"{record_id}: {field} has {len(value)} entries, more than the limit of {limit}")
    return value


def _version(value: Any, record_id: str) -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_VERSION_LENGTH:
        raise AdvisoryError(f"{record_id}: a version must be a non-empty string of at most 120 characters")
    return value.strip()


def _ranges(raw: Any, record_id: str) -> list[tuple[tuple[str, str], ...]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise AdvisoryError(f"{record_id}: affected[].ranges must be a list")
    ranges = []
    for entry in raw:
        if not isinstance(entry, dict):
            raise AdvisoryError(f"{record_id}: each range must be an object")
        if entry.get("type") != "ECOSYSTEM":
            continue  # GIT and SEMVER ranges say nothing about PyPI release numbers
        events = entry.get("events")
        if not isinstance(events, list) or not events or len(events) > MAX_EVENTS:
            raise AdvisoryError(f"{record_id}: an ECOSYSTEM range needs 1-{MAX_EVENTS} events")
        parsed: list[tuple[str, str]] = []
        for event in events:
            if not isinstance(event, dict) or len(event) != 1:
                raise AdvisoryError(f"{record_id}: each range event must be an object with one key")
            ((kind, value),) = event.items()
            if kind not in EVENT_KINDS:
                raise AdvisoryError(f"{record_id}: unknown range event {str(kind)[:40]!r}")
            parsed.append((kind, _version(value, record_id)))
        ranges.append(tuple(parsed))
    return ranges


def _affected(raw: Any, record_id: str) -> tuple[AffectedPackage, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise AdvisoryError(f"{record_id}: affected must be a list")
    if len(raw) > MAX_AFFECTED:
        raise AdvisoryError(f"{record_id}: affected has more than {MAX_AFFECTED} entries")
    result = []
    for entry in raw:
        if not isinstance(entry, dict):
            raise AdvisoryError(f"{record_id}: each affected entry must be an object")
        package = entry.get("package")
        if not isinstance(package, dict) or package.get("ecosystem") != ECOSYSTEM:
            continue  # npm, Go, Debian ... are not Vigil's business
        name = package.get("name")
        if not isinstance(name, str) or not NAME_RE.match(name.strip()):
            raise AdvisoryError(f"{record_id}: affected package name {str(name)[:60]!r} is not a PyPI name")
        versions = [
            _version(v, record_id)
            for v in _string_list(entry.get("versions"), "versions", record_id, MAX_VERSIONS)
        ]
        ranges = _ranges(entry.get("ranges"), record_id)
        if not ranges and not versions:
            continue  # nothing to match on
        result.append(
            AffectedPackage(
                name=canonicalize_name(name.strip()), ranges=tuple(ranges), versions=tuple(versions)
            )
        )
    return tuple(result)


def parse_record(doc: Any, source: str = "record") -> OsvRecord:
    """Validate a decoded OSV document; raise ``AdvisoryError`` on anything unusable."""
    if not isinstance(doc, dict):
        raise AdvisoryError(f"{source}: an OSV record must be a JSON object")
    record_id = doc.get("id")
    if not isinstance(record_id, str) or not ID_RE.match(record_id):
        raise AdvisoryError(f"{source}: missing or malformed OSV id")
    modified = parse_time(doc.get("modified"), "modified", record_id)
    published = parse_time(doc["published"], "published", record_id) if doc.get("published") else None
    withdrawn = parse_time(doc["withdrawn"], "withdrawn", record_id) if doc.get("withdrawn") else None
    aliases = _string_list(doc.get("aliases"), "aliases", record_id, MAX_ALIASES)
    for alias in aliases:
        if not ID_RE.match(alias):
            raise AdvisoryError(f"{record_id}: malformed alias {alias[:60]!r}")
    summary = doc.get("summary") or doc.get("details") or ""
    if not isinstance(summary, str):
        raise AdvisoryError(f"{record_id}: summary must be a string")
    severity, severity_source = record_severity(doc)
    return OsvRecord(
        id=record_id,
        modified=modified,
        published=published,
        withdrawn=withdrawn,
        aliases=tuple(sorted(set(aliases) - {record_id})),
        summary=" ".join(summary.split())[:500],
        severity=severity,
        severity_source=severity_source,
        affected=_affected(doc.get("affected"), record_id),
    )
