"""Report formats Vigil reads. ``IMPORTERS`` maps a format name to its :class:`Importer`.

Adding a format is one module exposing ``IMPORTER`` plus one line here.
"""

from __future__ import annotations

from app.scanners.importers import (
    bandit,
    cyclonedx,
    dependency_check,
    detect_secrets,
    gitleaks,
    mypy,
    npm_audit,
    osv_scanner,
    pip_audit,
    ruff,
    safety,
    sarif,
    semgrep,
    trivy,
    trufflehog,
)
from app.scanners.importers.base import Importer, ParsedReport

IMPORTERS: dict[str, Importer] = {
    # Order matters for auto-detection: specific formats first, generic shapes last.
    sarif.IMPORTER.name: sarif.IMPORTER,
    cyclonedx.IMPORTER.name: cyclonedx.IMPORTER,
    cyclonedx.IMPORTER_XML.name: cyclonedx.IMPORTER_XML,
    dependency_check.IMPORTER.name: dependency_check.IMPORTER,
    trivy.IMPORTER.name: trivy.IMPORTER,
    osv_scanner.IMPORTER.name: osv_scanner.IMPORTER,
    npm_audit.IMPORTER.name: npm_audit.IMPORTER,
    gitleaks.IMPORTER.name: gitleaks.IMPORTER,
    trufflehog.IMPORTER.name: trufflehog.IMPORTER,
    trufflehog.IMPORTER3.name: trufflehog.IMPORTER3,
    safety.IMPORTER.name: safety.IMPORTER,
    bandit.IMPORTER.name: bandit.IMPORTER,
    semgrep.IMPORTER.name: semgrep.IMPORTER,
    detect_secrets.IMPORTER.name: detect_secrets.IMPORTER,
    pip_audit.IMPORTER.name: pip_audit.IMPORTER,
    ruff.IMPORTER.name: ruff.IMPORTER,
    mypy.IMPORTER.name: mypy.IMPORTER,
}

__all__ = ["IMPORTERS", "Importer", "ParsedReport"]
