"""The findings browser's query language: allow-listed filters, sorts and opaque cursors.

Only the parameters named in :data:`FILTER_PARAMS` ever reach SQL, each through its own parser, so
a query string cannot pick an arbitrary column or sort order. The same :class:`FindingFilter` drives
the list page, the bulk selection and the export links, and travels in the URL so a view can be
shared and the back button restores it.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlencode

import orjson

from app.errors import VigilError
from app.models import Category, FindingStatus, Severity

FILTER_PARAMS = (
    "project",
    "scanner",
    "category",
    "severity",
    "status",
    "rule",
    "path",
    "q",
    "overdue",
    "seen_from",
    "seen_to",
    "fixed_from",
    "fixed_to",
    "sort",
)
# Recency is when a finding was first seen: every rescan moves ``last_seen`` on every finding it
# reports (an open finding was last seen at its project's last scan), so ordering by it would say
# little and would cost an index rewrite per finding per scan (see app/models/finding.py).
SORTS = {
    "-first_seen": "Newest first",
    "first_seen": "Oldest first",
    "severity": "Worst severity first",
}
DEFAULT_SORT = "-first_seen"
PAGE_SIZES = (25, 50, 100)
MAX_TEXT = 200
MAX_VALUES = 50


class FilterError(VigilError, ValueError):
    """A filter, sort or cursor value that cannot be used; the message names the parameter."""


@dataclass(frozen=True)
class FindingFilter:
    project_ids: tuple[int, ...] = ()
    scanners: tuple[str, ...] = ()
    categories: tuple[Category, ...] = ()
    severities: tuple[Severity, ...] = ()
    # Empty means any status; the page's default (no ``status`` parameter) is open findings.
    statuses: tuple[FindingStatus, ...] = (FindingStatus.OPEN,)
    rule: str | None = None
    path_prefix: str | None = None
    text: str | None = None
    overdue: bool = False
    seen_from: date | None = None
    seen_to: date | None = None
    fixed_from: date | None = None
    fixed_to: date | None = None
    sort: str = DEFAULT_SORT
    extra: dict[str, str] = field(default_factory=dict)

    def params(self) -> list[tuple[str, str]]:
        """The filter as query parameters (the inverse of :func:`parse_filter`)."""
        out: list[tuple[str, str]] = [("project", str(p)) for p in self.project_ids]
        out += [("scanner", s) for s in self.scanners]
        out += [("category", c.value) for c in self.categories]
        out += [("severity", s.value) for s in self.severities]
        if self.statuses != (FindingStatus.OPEN,):
            out += [("status", s.value) for s in self.statuses] or [("status", "any")]
        for name, value in (("rule", self.rule), ("path", self.path_prefix), ("q", self.text)):
            if value:
                out.append((name, value))
        if self.overdue:
            out.append(("overdue", "1"))
        for name in ("seen_from", "seen_to", "fixed_from", "fixed_to"):
            value = getattr(self, name)
            if value is not None:
                out.append((name, value.isoformat()))
        if self.sort != DEFAULT_SORT:
            out.append(("sort", self.sort))
        return out

    def query_string(self, **changes: Any) -> str:
        target = replace(self, **changes) if changes else self
        return urlencode(target.params())


def _values(args: Mapping[str, Sequence[str]], name: str) -> list[str]:
    raw = args.get(name) or []
    values: list[str] = []
    for item in raw:
        values.extend(part.strip() for part in str(item).split(",") if part.strip())
    if len(values) > MAX_VALUES:
        raise FilterError(f"too many values for '{name}' (at most {MAX_VALUES})")
    return values


def _enum_values(args: Mapping[str, Sequence[str]], name: str, enum_cls: Any) -> tuple[Any, ...]:
    allowed = {m.value: m for m in enum_cls}
    chosen = []
    for value in _values(args, name):
        if value.lower() not in allowed:
            raise FilterError(f"unknown {name} {value[:40]!r}; choose from {', '.join(allowed)}")
        chosen.append(allowed[value.lower()])
    return tuple(dict.fromkeys(chosen))


def _text(args: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = _values(args, name) if name != "q" else [str(v).strip() for v in args.get(name) or []]
    value = next((v for v in values if v), None)
    if value is not None and (len(value) > MAX_TEXT or any(ord(c) < 32 for c in value)):
        raise FilterError(f"'{name}' must be at most {MAX_TEXT} printable characters")
    return value


def _date(args: Mapping[str, Sequence[str]], name: str) -> date | None:
    value = _text(args, name)
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise FilterError(f"'{name}' must be a date like 2026-01-31") from None


def parse_filter(args: Mapping[str, Sequence[str]]) -> FindingFilter:
    """Build a filter from query parameters (lists of strings); unknown parameters are ignored."""
    project_ids = []
    for value in _values(args, "project"):
        if not value.isdigit() or len(value) > 12:
            raise FilterError(f"'project' must be a project id, got {value[:40]!r}")
        project_ids.append(int(value))
    status_values = _values(args, "status")
    if "status" not in args:
        statuses: tuple[FindingStatus, ...] = (FindingStatus.OPEN,)
    elif any(v.lower() == "any" for v in status_values):
        statuses = ()
    else:
        statuses = _enum_values(args, "status", FindingStatus)
    sort = _text(args, "sort") or DEFAULT_SORT
    if sort not in SORTS:
        raise FilterError(f"unknown sort {sort[:40]!r}; choose from {', '.join(SORTS)}")
    scanners = tuple(dict.fromkeys(_values(args, "scanner")))
    if any(len(s) > 64 for s in scanners):
        raise FilterError("'scanner' values are at most 64 characters")
    overdue = (_text(args, "overdue") or "").lower() in {"1", "true", "yes", "on"}
    return FindingFilter(
        project_ids=tuple(dict.fromkeys(project_ids)),
        scanners=scanners,
        categories=_enum_values(args, "category", Category),
        severities=_enum_values(args, "severity", Severity),
        statuses=statuses,
        rule=_text(args, "rule"),
        path_prefix=_text(args, "path"),
        text=_text(args, "q"),
        overdue=overdue,
        seen_from=_date(args, "seen_from"),
        seen_to=_date(args, "seen_to"),
        fixed_from=_date(args, "fixed_from"),
        fixed_to=_date(args, "fixed_to"),
        sort=sort,
    )


def parse_page_size(raw: str | None) -> int:
    if not raw:
        return 50
    if not raw.isdigit() or int(raw) not in PAGE_SIZES:
        raise FilterError(f"'per_page' must be one of {', '.join(map(str, PAGE_SIZES))}")
    return int(raw)


def encode_cursor(sort: str, values: Sequence[Any]) -> str:
    """An opaque, URL-safe position: the sort and the last row's sort key and id."""
    payload = [sort, *[v.isoformat() if isinstance(v, datetime) else v for v in values]]
    return base64.urlsafe_b64encode(orjson.dumps(payload)).decode().rstrip("=")


def decode_cursor(raw: str, sort: str) -> list[Any]:
    """The key values of a cursor made for ``sort``; anything else is a clear 400, not a 500."""
    try:
        payload = orjson.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        raise FilterError("the page cursor is not valid; start again from the first page") from None
    if not isinstance(payload, list) or len(payload) < 3 or payload[0] != sort:
        raise FilterError("the page cursor does not belong to this sort order; start from the first page")
    values = payload[1:]
    if not isinstance(values[-1], int) or isinstance(values[-1], bool):
        raise FilterError("the page cursor is not valid; start again from the first page")
    try:
        if sort == "severity":
            if values[0] not in {s.value for s in Severity} or len(values) != 3:
                raise ValueError
            return [Severity(values[0]), _parse_time(values[1]), values[2]]
        if len(values) != 2:
            raise ValueError
        return [_parse_time(values[0]), values[1]]
    except (TypeError, ValueError):
        raise FilterError("the page cursor is not valid; start again from the first page") from None


def _parse_time(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError("not a timestamp")
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
