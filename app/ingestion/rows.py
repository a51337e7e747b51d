"""A reported finding as the values of its database row, and the hash of what a reader sees of it.

The display hash lets a reimport skip rewriting a finding reported exactly as last time: one
set-based UPDATE of ``last_seen`` instead of a row rewrite (and its index updates). It is computed
from the finding directly, without building the row, because most findings of a nightly rescan are
unchanged and never need the row.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from app.scanners.base import NormalizedFinding


def _origin(category: str) -> str:
    return category if category in ("dependency", "secret") else "code"


def _extras(f: NormalizedFinding) -> dict[str, Any]:
    extras = dict(f.extras)
    if f.end_line is not None:
        extras.setdefault("end_line", f.end_line)
    return extras


def display_hash(f: NormalizedFinding) -> str:
    """Hash of the display columns (``store.DISPLAY_COLUMNS`` but the run markers), in that order."""
    shown = (
        f.severity,
        f.confidence[:32] if f.confidence else None,
        (f.title or f.rule_id)[:500],
        f.message or "",
        f.path[:1024] if f.path else None,
        f.line,
        f.column,
        f.snippet,
        f.cwe,
        f.advisory_ids,
        f.package[:255] if f.package else None,
        f.installed_version[:120] if f.installed_version else None,
        f.fixed_versions,
        _extras(f) if f.extras or f.end_line is not None else {},
    )
    return hashlib.blake2b(orjson.dumps(shown, default=str), digest_size=16).hexdigest()


def finding_row(f: NormalizedFinding, fingerprint: str, project_id: int, shown: str) -> dict[str, Any]:
    """The reported columns of a finding's row (the lifecycle columns are the caller's)."""
    return {
        "project_id": project_id,
        "fingerprint": fingerprint,
        "scanner": f.scanner[:64],
        "rule_id": f.rule_id[:255],
        "tool_rule_id": f.tool_rule_id[:255],
        "category": f.category,
        "severity": f.severity,
        "confidence": f.confidence[:32] if f.confidence else None,
        "title": (f.title or f.rule_id)[:500],
        "message": f.message or "",
        "path": f.path[:1024] if f.path else None,
        "line": f.line,
        "column": f.column,
        "snippet": f.snippet,
        "cwe": list(f.cwe),
        "advisory_ids": list(f.advisory_ids),
        "package": f.package[:255] if f.package else None,
        "installed_version": f.installed_version[:120] if f.installed_version else None,
        "fixed_versions": list(f.fixed_versions),
        "origin": _origin(f.category),
        "extras": _extras(f),
        "display_hash": shown,
    }
