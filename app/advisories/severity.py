"""Severity of an OSV record, in Vigil's five levels.

Order of evidence, first that yields a level wins:

1. ``database_specific.severity`` of the record (GitHub's reviewed label: CRITICAL, HIGH, MODERATE,
   LOW), then the same field of an affected PyPI entry's ``database_specific``/``ecosystem_specific``;
2. the highest base score of the CVSS vectors in ``severity[]`` (v4, v3.x or v2, scored with the
   ``cvss`` library) using the CVSS bands: 9.0+ critical, 7.0+ high, 4.0+ medium, above 0 low;
3. nothing usable (many PYSEC records): :data:`DEFAULT_SEVERITY` (medium), marked as a default so
   the finding says its severity is a guess. An alias group takes the worst level of its records.
"""

from __future__ import annotations

from typing import Any

from cvss import CVSS2, CVSS3, CVSS4
from cvss.exceptions import CVSSError

DEFAULT_SEVERITY = "medium"
LABELS = {
    "critical": "critical",
    "high": "high",
    "moderate": "medium",
    "medium": "medium",
    "low": "low",
    "none": "info",
    "info": "info",
}
RANK = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}


def band(score: float) -> str:
    """The CVSS qualitative rating of a base score."""
    if score >= 9.0:
        return "critical"
    if score >= 7.0:
        return "high"
    if score >= 4.0:
        return "medium"
    if score > 0.0:
        return "low"
    return "info"


def cvss_score(kind: str, vector: str) -> float | None:
    """Base score of one ``severity[]`` entry, or None when the vector cannot be scored."""
    if not isinstance(vector, str) or len(vector) > 300:
        return None
    try:
        if kind == "CVSS_V4":
            return float(CVSS4(vector).base_score)
        if kind == "CVSS_V3":
            return float(CVSS3(vector).scores()[0])
        if kind == "CVSS_V2":
            return float(CVSS2(vector).scores()[0])
    except (CVSSError, ValueError, KeyError, IndexError, TypeError, ArithmeticError):
        return None
    return None


def _label(container: Any) -> str | None:
    if isinstance(container, dict):
        value = container.get("severity")
        if isinstance(value, str):
            return LABELS.get(value.strip().lower())
    return None


def record_severity(doc: dict[str, Any]) -> tuple[str | None, str]:
    """(level or None, where it came from) for one decoded OSV record."""
    level = _label(doc.get("database_specific"))
    if level:
        return level, "database_specific"
    for entry in doc.get("affected") or []:
        if isinstance(entry, dict):
            level = _label(entry.get("database_specific")) or _label(entry.get("ecosystem_specific"))
            if level:
                return level, "database_specific"
    scores = [
        score
        for item in doc.get("severity") or []
        if isinstance(item, dict)
        and (score := cvss_score(str(item.get("type")), item.get("score", ""))) is not None
    ]
    if scores:
        return band(max(scores)), "cvss"
    return None, "default"


def worst(levels: list[str | None]) -> str | None:
    known = [level for level in levels if level]
    return max(known, key=RANK.__getitem__) if known else None
