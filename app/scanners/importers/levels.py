"""How each imported format's own severity words become Vigil's five levels.

These rows move into ``app/scanners/severity.py`` (the single per-tool table) once it exists; until
then the importers read them from here. The README's "Importing reports" section reproduces them.
Unknown words fall back to ``medium`` rather than ``info``: an unreadable severity should not hide a
finding from the default views.
"""

from __future__ import annotations

import importlib
from functools import cache
from types import ModuleType
from typing import Any

from app.scanners.base import SEVERITIES

FALLBACK = "medium"

SEVERITY_MAPS: dict[str, dict[str, str]] = {
    # SARIF result.level / rule defaultConfiguration.level (security-severity scores win when present)
    "sarif": {"error": "high", "warning": "medium", "note": "low", "none": "info"},
    "trivy": {"critical": "critical", "high": "high", "medium": "medium", "low": "low", "unknown": "info"},
    "osv-scanner": {
        "critical": "critical",
        "high": "high",
        "moderate": "medium",
        "medium": "medium",
        "low": "low",
    },
    "cyclonedx": {
        "critical": "critical",
        "high": "high",
        "medium": "medium",
        "low": "low",
        "info": "info",
        "none": "info",
        "unknown": "medium",
    },
    "dependency-check": {
        "critical": "critical",
        "high": "high",
        "moderate": "medium",
        "medium": "medium",
        "low": "low",
        "info": "info",
    },
    "npm-audit": {"critical": "critical", "high": "high", "moderate": "medium", "low": "low", "info": "info"},
    # Secrets scanners: a leaked credential is high unless the tool verified it works (critical).
    "gitleaks": {"default": "high"},
    "trufflehog": {"default": "high", "verified": "critical"},
    "safety": {"default": "medium"},
}


def cvss_band(score: float | None) -> str | None:
    """CVSS v3/v4 qualitative rating; also used for SARIF ``security-severity``."""
    if score is None:
        return None
    if score >= 9.0:
        return "critical"
    if score >= 7.0:
        return "high"
    if score >= 4.0:
        return "medium"
    if score > 0.0:
        return "low"
    return "info"


def level(fmt: str, raw: Any, default: str = FALLBACK) -> str:
    """Vigil's level for a format's severity word (case-insensitive); ``default`` when unknown."""
    table = _table(fmt)
    if isinstance(raw, str):
        word = raw.strip().lower()
        if word in table:
            return table[word]
        if word in SEVERITIES:
            return word
    return table.get("default", default)


def _table(fmt: str) -> dict[str, str]:
    """The shared per-tool table when present, else the rows kept here."""
    shared = _optional("app.scanners.severity")
    if shared is None:
        return SEVERITY_MAPS.get(fmt, {})
    tables = getattr(shared, "SEVERITY_MAPS", None) or getattr(shared, "SEVERITY_TABLE", None)
    if isinstance(tables, dict) and isinstance(tables.get(fmt), dict):
        return tables[fmt]
    return SEVERITY_MAPS.get(fmt, {})


def canonical(tool: str, tool_rule_id: str) -> str:
    """The canonical rule id shared by tools that check the same thing (``app.scanners.canonical``)."""
    module = _optional("app.scanners.canonical")
    if module is None:
        return f"{tool}:{tool_rule_id}"
    result = module.canonical_rule_id(tool, tool_rule_id)
    return str(result)


@cache
def _optional(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None
