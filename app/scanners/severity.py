"""The one table of severity mapping: each tool's own level -> Vigil's severity.

Every scanner and importer maps severity through :func:`map_severity`, so the dashboard's "high"
means the same thing whichever tool reported it, and the mapping is written down once (README
"Scanners" links here). Keys are compared case-insensitively. A tool may also list per-rule
overrides (``RULE_SEVERITY``) for formats that carry no level at all (ruff, detect-secrets).

To add a format: one row in ``SEVERITY_TABLE`` (and a default in ``DEFAULT_SEVERITY`` if the
format has findings without a level).
"""

from __future__ import annotations

from app.scanners.base import SEVERITIES

# tool -> {tool's level (upper case) -> Vigil severity}
SEVERITY_TABLE: dict[str, dict[str, str]] = {
    "bandit": {"HIGH": "high", "MEDIUM": "medium", "LOW": "low", "UNDEFINED": "info"},
    # semgrep OSS levels, plus the newer CRITICAL..LOW scale some rule packs use.
    "semgrep": {
        "CRITICAL": "critical",
        "ERROR": "high",
        "HIGH": "high",
        "WARNING": "medium",
        "MEDIUM": "medium",
        "INFO": "low",
        "LOW": "low",
        "INVENTORY": "info",
        "EXPERIMENT": "info",
    },
    # ruff JSON carries no level: security (S) rules are medium unless listed in RULE_SEVERITY,
    # quality rules are low (they are tracked as counts, not triaged one by one).
    "ruff": {"SECURITY": "medium", "QUALITY": "low"},
    # pip-audit JSON has no severity; an advisory against an installed pin is worth a look soon.
    "pip-audit": {"VULNERABILITY": "medium"},
    # a committed credential is always urgent, whatever plugin found it.
    "detect-secrets": {"SECRET": "high"},  # pragma: allowlist secret - a level name, not a credential
    "mypy": {"ERROR": "low", "NOTE": "info", "WARNING": "low"},
    # Imported report formats (app/scanners/importers). SARIF and CycloneDX prefer a CVSS-like score
    # when the report has one (9.0+ critical, 7.0+ high, 4.0+ medium, above 0 low, 0 info).
    "sarif": {"ERROR": "high", "WARNING": "medium", "NOTE": "info", "NONE": "info"},
    "trivy": {"CRITICAL": "critical", "HIGH": "high", "MEDIUM": "medium", "LOW": "low", "UNKNOWN": "info"},
    "osv-scanner": {
        "CRITICAL": "critical",
        "HIGH": "high",
        "MODERATE": "medium",
        "MEDIUM": "medium",
        "LOW": "low",
    },
    "cyclonedx": {
        "CRITICAL": "critical",
        "HIGH": "high",
        "MEDIUM": "medium",
        "LOW": "low",
        "INFO": "info",
        "NONE": "info",
        "NEGLIGIBLE": "info",
        "UNKNOWN": "info",
    },
    "dependency-check": {
        "CRITICAL": "critical",
        "HIGH": "high",
        "MODERATE": "medium",
        "MEDIUM": "medium",
        "LOW": "low",
        "INFO": "info",
    },
    "npm-audit": {"CRITICAL": "critical", "HIGH": "high", "MODERATE": "medium", "LOW": "low", "INFO": "info"},
    # secrets: a credential the tool verified against its provider is critical, any other high;
    # trufflehog v2 entropy/regex hits over history (unverified, often test data) are medium.
    "gitleaks": {"SECRET": "high"},  # pragma: allowlist secret - a level name, not a credential
    "trufflehog": {"VERIFIED": "critical", "UNVERIFIED": "high", "HISTORY": "medium"},
    "trufflehog3": {"HIGH": "high", "MEDIUM": "medium", "LOW": "low"},
    # safety's legacy JSON has no severity.
    "safety": {"VULNERABILITY": "medium"},
}

# Severity when a tool's level is missing or unknown.
DEFAULT_SEVERITY: dict[str, str] = {
    "bandit": "medium",
    "semgrep": "medium",
    "ruff": "low",
    "pip-audit": "medium",
    "detect-secrets": "high",  # pragma: allowlist secret - a level name, not a credential
    "mypy": "low",
    "sarif": "medium",  # SARIF's own default level is "warning"
    "gitleaks": "high",
    "trufflehog": "high",
    "trufflehog3": "high",
    "safety": "medium",
}

# (tool, rule) overrides for tools that report no level. Ruff security rules follow the severity
# bandit gives the same check, so ruff and bandit agree on the merged finding.
RULE_SEVERITY: dict[str, dict[str, str]] = {
    "ruff": {
        "S101": "low",
        "S104": "medium",
        "S105": "low",
        "S106": "low",
        "S107": "low",
        "S108": "medium",
        "S110": "low",
        "S112": "low",
        "S113": "medium",
        "S201": "high",
        "S301": "medium",
        "S307": "medium",
        "S311": "low",
        "S324": "high",
        "S403": "low",
        "S404": "low",
        "S413": "high",
        "S501": "high",
        "S502": "high",
        "S506": "medium",
        "S602": "high",
        "S604": "medium",
        "S605": "high",
        "S607": "low",
        "S608": "medium",
        "S701": "high",
    },
}


def map_severity(tool: str, level: str | None, rule: str | None = None) -> str:
    """Vigil severity for ``tool``'s ``level`` (or its ``rule`` where the tool has no levels).

    Never raises: an unknown tool or level falls back to the tool's default, then ``medium``,
    because dropping a finding over an unfamiliar label would hide it.
    """
    tool = tool.strip().lower()
    if rule is not None:
        by_rule = RULE_SEVERITY.get(tool, {})
        if rule.upper() in by_rule:
            return by_rule[rule.upper()]
    if level is not None:
        lowered = level.strip().lower()
        mapped = SEVERITY_TABLE.get(tool, {}).get(level.strip().upper())
        if mapped is not None:
            return mapped
        # a level already in Vigil's vocabulary ("High", "critical") is taken as is
        if lowered in SEVERITIES:
            return lowered
    return DEFAULT_SEVERITY.get(tool, "medium")
