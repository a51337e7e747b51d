"""Severity and rule-id helpers for importers, over the shared tables in ``app.scanners``.

The per-format severity rows live in :mod:`app.scanners.severity` (one table for every tool, shown in
the README); this module adds the CVSS banding that SARIF ``security-severity`` and CycloneDX ratings
need, and the canonical rule id lookup.
"""

from __future__ import annotations

from typing import Any

from app.advisories.severity import band
from app.scanners.canonical import canonical_rule_id
from app.scanners.severity import map_severity


def cvss_band(score: float | None) -> str | None:
    """CVSS v3/v4 qualitative rating (the advisory store's banding); also used for SARIF
    ``security-severity``."""
    return None if score is None else band(score)


def level(fmt: str, raw: Any, default: str | None = None) -> str:
    """Vigil's level for a format's severity word; the format's default when missing or unknown."""
    word = raw.strip() if isinstance(raw, str) and raw.strip() else None
    if word is None and default is not None:
        return default
    return map_severity(fmt, word)


def canonical(tool: str, tool_rule_id: str) -> str:
    """The canonical rule id shared by tools that check the same thing."""
    return canonical_rule_id(tool, tool_rule_id)
